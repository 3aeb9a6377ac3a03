package store_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store"
	"github.com/switchboard-chat/switchboard/api/store/storetest"
	"github.com/switchboard-chat/switchboard/migrations"
)

func openSQLite(t *testing.T, url, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(ctx, url, dir)
	if err != nil {
		t.Fatalf("Open(%q, %q): %v", url, dir, err)
	}
	t.Cleanup(func() { db.Close() })
	if db.Dialect() != store.DialectSQLite {
		t.Fatalf("dialect = %q", db.Dialect())
	}
	must(t, migrations.Up(ctx, db.SQL(), db.Dialect()))
	return db
}

func TestOpenSQLiteURLs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	db := openSQLite(t, "", dir)
	if _, err := os.Stat(filepath.Join(dir, "switchboard.db")); err != nil {
		t.Fatalf("default database file: %v", err)
	}
	var mode string
	var fk int
	must(t, db.SQL().QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode))
	must(t, db.SQL().QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk))
	if mode != "wal" || fk != 1 {
		t.Fatalf("journal_mode = %q, foreign_keys = %d; want wal, 1", mode, fk)
	}

	for _, url := range []string{
		"sqlite://" + filepath.Join(t.TempDir(), "a.db"),
		"file:" + filepath.Join(t.TempDir(), "sub", "b.db"),
		"sqlite://:memory:",
	} {
		db := openSQLite(t, url, "")
		ws, err := db.CreateWorkspace(ctx, "w")
		must(t, err)
		if _, err := db.SiteByKey(ctx, "none"); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Fatalf("%s: read after write: %v", url, err)
		}
		if err := db.CreateSite(ctx, &chat.Site{WorkspaceID: ws.ID}); err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		must(t, db.Ping(ctx))
	}
}

func TestOpenErrorsAreClear(t *testing.T) {
	for _, tc := range []struct{ url, dir, want, hidden string }{
		{"mysql://root@localhost/db", "", `unsupported database URL scheme "mysql"`, ""},
		{"", "", "no database URL and no data directory", ""},
		{"sqlite://", "", "no file path", ""},
		{"sqlite:///tmp/x.db?_pragma=foo", "", "query parameters are not supported", ""},
		{"postgres://app:hunter2@127.0.0.1:1/x?connect_timeout=2", "", "connect to PostgreSQL at postgres://app:xxxxx@127.0.0.1:1/x", "hunter2"},
	} {
		db, err := store.Open(ctx, tc.url, tc.dir)
		if err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q) error %q, want it to mention %q", tc.url, err, tc.want)
		}
		if tc.hidden != "" && strings.Contains(err.Error(), tc.hidden) {
			t.Errorf("Open(%q) error leaks %q: %v", tc.url, tc.hidden, err)
		}
	}
}

// Many goroutines doing every kind of write at once: none may fail (on
// SQLite, no "database is locked").
func TestConcurrentMixedWriters(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	ws := fx.Workspace.ID
	shared := newConversation(t, db, fx)

	const workers, rounds = 16, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*8)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			check := func(err error) {
				if err != nil {
					errs <- err
				}
			}
			v := &chat.Visitor{WorkspaceID: ws, SiteID: fx.Site.ID, Name: fmt.Sprint("v", w)}
			if err := db.CreateVisitor(ctx, v); err != nil {
				errs <- err
				return
			}
			c, _, err := db.CreateConversation(ctx, chat.NewConversation{WorkspaceID: ws, SiteID: fx.Site.ID, VisitorID: v.ID, ClientID: "c"})
			if err != nil {
				errs <- err
				return
			}
			for i := range rounds {
				for _, conv := range []int64{c.ID, shared.ID} {
					m, _, err := db.CreateMessage(ctx, chat.NewMessage{WorkspaceID: ws, ConversationID: conv, ClientID: fmt.Sprint(w, "-", i),
						AuthorType: chat.AuthorVisitor, Kind: chat.KindText, Body: "hi"})
					check(err)
					if err == nil {
						check(db.MarkRead(ctx, ws, chat.ReadMarker{ConversationID: conv, ReaderType: chat.AuthorVisitor, ReaderID: v.ID, Seq: m.Seq}))
					}
				}
				v.LastPage = fmt.Sprint("/page/", i)
				check(db.UpdateVisitor(ctx, v))
				check(db.Audit(ctx, &chat.AuditEntry{WorkspaceID: ws, Action: "tick"}))
				_, err := db.ListConversations(ctx, ws, chat.ConversationFilter{Limit: 5, Query: "hi"})
				check(err)
				if i%5 == 0 {
					_, _, err = db.SetStatus(ctx, ws, c.ID, []string{chat.ConvPending, chat.ConvOpen}[i%2], nil, "")
					check(err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	if len(all) > 0 {
		t.Fatalf("%d concurrent writes failed, first: %v", len(all), all[0])
	}
	msgs, err := db.Messages(ctx, ws, shared.ID, 0, 500, true)
	must(t, err)
	if len(msgs) != workers*rounds || msgs[len(msgs)-1].Seq != workers*rounds {
		t.Fatalf("shared conversation has %d messages, last seq %d", len(msgs), msgs[len(msgs)-1].Seq)
	}
}

// Two stores on one SQLite file stand for two processes (say serve and an
// admin command): immediate transactions plus the busy timeout keep them
// from failing each other, and seqs stay gap-free across both.
func TestSQLiteTwoProcessesShareAFile(t *testing.T) {
	dir := t.TempDir()
	a := openSQLite(t, "", dir)
	b := openSQLite(t, "", dir)
	fx := storetest.Seed(t, a)
	c := newConversation(t, a, fx)

	var wg sync.WaitGroup
	var mu sync.Mutex
	var seqs []int64
	var errs []error
	for g := range 6 {
		db := []*store.DB{a, b}[g%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				m, _, err := db.CreateMessage(ctx, chat.NewMessage{WorkspaceID: fx.Workspace.ID, ConversationID: c.ID,
					ClientID: fmt.Sprint(g, "-", i), AuthorType: chat.AuthorVisitor, Kind: chat.KindText, Body: "x"})
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					seqs = append(seqs, m.Seq)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d writes failed, first: %v", len(errs), errs[0])
	}
	slices.Sort(seqs)
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("seqs across two stores are not 1..%d (position %d: %d)", len(seqs), i, s)
		}
	}
}
