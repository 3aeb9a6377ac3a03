package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/api"
	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/realtime"
	"github.com/switchboard-chat/switchboard/api/store"
)

// secondNode starts another server over e's database, as a second serve
// node behind a load balancer (or the first one after a restart): it shares
// nothing with e's server but the store.
func (e *env) secondNode() *env {
	e.t.Helper()
	hub, err := realtime.NewHub(context.Background(), realtime.NewMemoryBroker(), quiet)
	if err != nil {
		e.t.Fatal(err)
	}
	srv := api.New(api.Config{Logger: quiet, MaxUploadBytes: 1 << 20}, e.db, store.NewDiskBlobs(e.t.TempDir()), hub)
	hs := httptest.NewServer(srv.Handler())
	e.t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		hs.Close()
		hub.Close()
	})
	n := *e
	n.URL, n.srv, n.http, n.hub = hs.URL, srv, hs, hub
	return &n
}

// The login lock-out is counted in the database: failures spread across two
// nodes add up to one lock-out, which both nodes enforce, and a success on
// either node clears it for both.
func TestLoginLockoutSharedAcrossNodes(t *testing.T) {
	e := newEnv(t)
	other := e.secondNode()
	nodes := []*client{e.client(), other.client()}
	const path = "/api/v1/auth/login"
	// The limit keys by lower-cased email, whatever case the attacker types.
	wrong := map[string]string{"email": strings.ToUpper(e.admin.Email), "password": "nope nope"}
	right := map[string]string{"email": e.admin.Email, "password": e.password}

	// Nine failures across both nodes, then a success: the count starts over.
	for i := range 9 {
		nodes[i%2].expectError("POST", path, wrong, 401, chat.EUNAUTHORIZED)
	}
	if st, body := nodes[1].do("POST", path, right, nil); st != 200 {
		t.Fatalf("login after 9 failures: %d %s", st, body)
	}
	// Ten more, five on each node: locked on both, even with the password.
	for i := range 10 {
		nodes[i%2].expectError("POST", path, wrong, 401, chat.EUNAUTHORIZED)
	}
	for _, c := range nodes {
		c.expectError("POST", path, right, 423, chat.ELOCKED)
	}
	// Another agent's email is not locked.
	_, _, bob := e.seedWorkspace("Bobco", e.password)
	if st, body := nodes[1].do("POST", path, map[string]string{"email": bob.Email, "password": e.password}, nil); st != 200 {
		t.Fatalf("another email: %d %s", st, body)
	}
}

// The transcript email limit (30 per agent per hour) holds across nodes too.
func TestTranscriptEmailLimitSharedAcrossNodes(t *testing.T) {
	e := newEnv(t)
	other := e.secondNode()
	ctx := context.Background()
	nodes := []*client{e.loginAgent(e.admin.Email, e.password), other.loginAgent(e.admin.Email, e.password)}
	v := &chat.Visitor{WorkspaceID: e.ws.ID, SiteID: e.site.ID, Name: "Vi", Attributes: map[string]string{}}
	if err := e.db.CreateVisitor(ctx, v); err != nil {
		t.Fatal(err)
	}
	conv, _, err := e.db.CreateConversation(ctx, chat.NewConversation{WorkspaceID: e.ws.ID, SiteID: e.site.ID, VisitorID: v.ID})
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/api/v1/conversations/%d/transcript/email", conv.ID)
	for i := range 30 {
		if st, body := nodes[i%2].do("POST", path, map[string]string{"email": fmt.Sprintf("r%d@example.com", i)}, nil); st != 202 {
			t.Fatalf("email %d: %d %s", i+1, st, body)
		}
	}
	for _, c := range nodes {
		c.expectError("POST", path, map[string]string{"email": "one-too-many@example.com"}, 429, chat.ERATELIMIT)
	}
}
