# Switchboard — build, run and test.
#
#   make build   front ends (npm ci + npm run build) and bin/switchboard
#   make run     build, then ./bin/switchboard serve --demo on http://localhost:8080
#   make test    front ends, go vet, then the tests (race detector on ./api/...)
#   make bench   the ./api/... benchmarks
#   make clean   remove build outputs (distclean also removes node_modules)
#
# Everything works on a fresh clone with no services running: the defaults are
# SQLite in ./data and an in-process Redis. Set SWITCHBOARD_TEST_DATABASE_URL /
# SWITCHBOARD_TEST_REDIS_URL to also run the store/broker/e2e tests on real services.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build
.DELETE_ON_ERROR:

GO      ?= go
NPM     ?= npm
MODULE  := github.com/switchboard-chat/switchboard
BIN     := bin/switchboard

# Module downloads go through the module proxy (source hosts are not reachable
# from every machine we build on). A GOPROXY already set in the environment wins.
export GOPROXY ?= https://proxy.golang.org
# No VCS stamping: builds from tarballs, worktrees and containers behave the same.
export GOFLAGS := $(strip $(filter-out -buildvcs=%,$(GOFLAGS)) -buildvcs=false)

TEST_TIMEOUT ?= 20m
TEST_FLAGS   ?=
BENCH        ?= .

# Packages of this module, never anything an npm package ships under node_modules.
# Listed lazily, once, when a recipe first needs them (i.e. after npm ci).
ALL_PKGS  = $(eval ALL_PKGS := $$(shell $(GO) list -e ./... | grep -v '/node_modules/'))$(ALL_PKGS)
# The concurrency-heavy packages (server, realtime, store, routing) run under -race.
RACE_PKGS = $(filter $(MODULE)/api $(MODULE)/api/%,$(ALL_PKGS))
REST_PKGS = $(filter-out $(RACE_PKGS),$(ALL_PKGS))

# ---------------------------------------------------------------------------
# Front ends: widget/ and agent-console/ build into their dist/, which Go embeds.
# npm ci runs when node_modules is missing or package*.json changed; npm run build
# runs when a source file changed since the last build (or dist/ is missing).
# The stamps live in node_modules so that an npm ci also forces a rebuild.

FRONTENDS := $(patsubst %/package.json,%,$(wildcard widget/package.json agent-console/package.json))

frontend_srcs = $(shell find $(1) \( -name node_modules -o -name dist \) -prune -o -type f ! -name '*.go' -print)

define FRONTEND_RULES
$(1)/node_modules/.sb-installed: $(1)/package.json $(wildcard $(1)/package-lock.json)
	@echo "==> npm ci ($(1))"
	cd $(1) && $(NPM) ci --no-audit --no-fund
	@mkdir -p $$(@D) && touch $$@

$(1)/node_modules/.sb-built: $(1)/node_modules/.sb-installed $(call frontend_srcs,$(1)) $(if $(wildcard $(1)/dist),,FORCE)
	@echo "==> npm run build ($(1))"
	cd $(1) && $(NPM) run build
	@mkdir -p $$(@D) && touch $$@
endef
$(foreach fe,$(FRONTENDS),$(eval $(call FRONTEND_RULES,$(fe))))

.PHONY: FORCE
FORCE:

.PHONY: frontends
frontends: $(foreach fe,$(FRONTENDS),$(fe)/node_modules/.sb-built)

# ---------------------------------------------------------------------------

.PHONY: build
build: frontends
	@mkdir -p $(dir $(BIN))
	$(GO) build -o $(BIN) ./cmd/switchboard

.PHONY: run
run: build
	./$(BIN) serve --demo

.PHONY: vet
vet: frontends
	$(if $(ALL_PKGS),$(GO) vet $(ALL_PKGS),@echo "go list ./... found no packages" >&2; exit 1)

.PHONY: test
test: vet
	@echo "==> go test -race ./api/..."
	$(if $(RACE_PKGS),$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $(TEST_FLAGS) $(RACE_PKGS),@echo "no packages under ./api" >&2; exit 1)
	@echo "==> go test (everything else)"
	$(if $(REST_PKGS),$(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(TEST_FLAGS) $(REST_PKGS),@echo "no other packages")

.PHONY: bench
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem ./api/...

.PHONY: clean
clean:
	rm -rf bin
	rm -f $(foreach fe,widget agent-console,$(fe)/node_modules/.sb-built)
	@# Remove the built bundles but keep any committed placeholder in dist/.
	@for fe in widget agent-console; do \
	  if [ -d $$fe/dist ]; then \
	    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	      git clean -fdXq -- $$fe/dist; \
	    else \
	      echo "not a git checkout: leaving $$fe/dist alone"; \
	    fi; \
	  fi; \
	done

.PHONY: distclean
distclean: clean
	rm -rf widget/node_modules agent-console/node_modules
