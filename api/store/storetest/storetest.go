// Package storetest opens throwaway stores for tests of any package.
//
// By default each store is a SQLite file in the test's temporary directory.
// When SWITCHBOARD_TEST_DATABASE_URL names a PostgreSQL database (e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable), each store gets a
// fresh schema in it, dropped when the test ends, so tests may run in
// parallel against one database.
package storetest

import (
	"context"
	"crypto/rand"
	"fmt"
	neturl "net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store"
	"github.com/switchboard-chat/switchboard/migrations"
)

// EnvDatabaseURL names the environment variable selecting PostgreSQL.
const EnvDatabaseURL = "SWITCHBOARD_TEST_DATABASE_URL"

// Open returns a migrated, empty store, closed when the test ends.
func Open(tb testing.TB) *store.DB {
	tb.Helper()
	db := OpenEmpty(tb)
	if err := migrations.Up(context.Background(), db.SQL(), db.Dialect()); err != nil {
		tb.Fatalf("storetest: migrate: %v", err)
	}
	return db
}

// OpenEmpty is Open without the migrations: an empty database.
func OpenEmpty(tb testing.TB) *store.DB {
	tb.Helper()
	ctx := context.Background()
	url := os.Getenv(EnvDatabaseURL)
	if url == "" {
		db, err := store.Open(ctx, "", tempDir(tb))
		if err != nil {
			tb.Fatalf("storetest: %v", err)
		}
		tb.Cleanup(func() { db.Close() })
		return db
	}

	db, err := store.Open(ctx, URL(tb), "")
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// Fixture is the minimum most tests need: a workspace with one site, an
// active admin and one visitor on the site.
type Fixture struct {
	Workspace *chat.Workspace
	Site      *chat.Site
	Admin     *chat.Agent
	Visitor   *chat.Visitor
}

// Seed creates a Fixture. Names and keys are random, so a test may seed
// several workspaces into one store.
func Seed(tb testing.TB, db chat.Store) Fixture {
	tb.Helper()
	ctx := context.Background()
	tag := strings.ToLower(rand.Text()[:8])
	fail := func(what string, err error) {
		tb.Helper()
		if err != nil {
			tb.Fatalf("storetest: seed %s: %v", what, err)
		}
	}
	ws, err := db.CreateWorkspace(ctx, "Workspace "+tag)
	fail("workspace", err)
	site := &chat.Site{
		WorkspaceID:    ws.ID,
		Name:           "Site " + tag,
		AllowedOrigins: []string{"https://" + tag + ".example.com"},
		Settings:       chat.SiteSettings{Color: "#3355ff", Position: "right", Greeting: "Hi! How can we help?"},
	}
	fail("site", db.CreateSite(ctx, site))
	admin := &chat.Agent{
		WorkspaceID: ws.ID,
		Email:       fmt.Sprintf("admin-%s@example.com", tag),
		Name:        "Admin " + tag,
		Role:        chat.RoleAdmin,
		Status:      chat.StatusOnline,
		Capacity:    5,
		Active:      true,
	}
	fail("admin", db.CreateAgent(ctx, admin))
	visitor := &chat.Visitor{WorkspaceID: ws.ID, SiteID: site.ID, Name: "Visitor " + tag, Email: "visitor-" + tag + "@example.net"}
	fail("visitor", db.CreateVisitor(ctx, visitor))
	return Fixture{Workspace: ws, Site: site, Admin: admin, Visitor: visitor}
}

// URL returns a connection URL for a fresh, empty PostgreSQL schema that is
// dropped when the test ends, or "" when SWITCHBOARD_TEST_DATABASE_URL is
// unset (callers then use SQLite in a temporary data dir). It is how tests
// that open the database themselves, like the cmd tests, stay isolated.
func URL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv(EnvDatabaseURL)
	if url == "" {
		return ""
	}
	ctx := context.Background()
	// A schema per test: create it over an admin connection, then point the
	// test's connections at it through the search_path run-time parameter.
	admin, err := store.Open(ctx, url, "")
	if err != nil {
		tb.Fatalf("storetest: %s: %v", EnvDatabaseURL, err)
	}
	schema := "test_" + strings.ToLower(rand.Text())
	if _, err := admin.SQL().ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		tb.Fatalf("storetest: create schema: %v", err)
	}
	u, err := neturl.Parse(url)
	if err != nil {
		admin.Close()
		tb.Fatalf("storetest: %s: %v", EnvDatabaseURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	// Cleanups run last-registered first, so the caller's db.Close runs
	// before the schema is dropped.
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.SQL().ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("storetest: drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	return u.String()
}

// tempDir is a per-test directory for SQLite files, in memory (/dev/shm)
// where the machine has it: tests check behaviour, not fsync speed, and a
// commit to disk costs milliseconds.
func tempDir(tb testing.TB) string {
	tb.Helper()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "switchboard-test-"); err == nil {
			tb.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return tb.TempDir()
}
