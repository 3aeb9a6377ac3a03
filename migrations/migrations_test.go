package migrations_test

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/api/store"
	"github.com/switchboard-chat/switchboard/api/store/storetest"
	"github.com/switchboard-chat/switchboard/migrations"
)

var ctx = context.Background()

// schema describes the migrated database: "table.column" for every column
// plus "index:name" for every index, sorted.
func schema(t *testing.T, db *store.DB) []string {
	t.Helper()
	q := `SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = current_schema()
		UNION ALL SELECT 'index:' || indexname FROM pg_indexes WHERE schemaname = current_schema()`
	if db.Dialect() == migrations.SQLite {
		q = `SELECT m.name || '.' || p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'
			UNION ALL SELECT 'index:' || name FROM sqlite_master WHERE type = 'index'`
	}
	rows, err := db.SQL().QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func status(t *testing.T, db *store.DB) string {
	t.Helper()
	var buf bytes.Buffer
	if err := migrations.Status(ctx, db.SQL(), db.Dialect(), &buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestUpOnEmptyDatabaseThenAgainIsNoop(t *testing.T) {
	db := storetest.OpenEmpty(t)
	if s := status(t, db); !strings.Contains(s, "pending") || strings.Contains(s, "applied") {
		t.Fatalf("status of an empty database:\n%s", s)
	}
	if err := migrations.Up(ctx, db.SQL(), db.Dialect()); err != nil {
		t.Fatalf("Up on an empty %s database: %v", db.Dialect(), err)
	}
	first := schema(t, db)
	for _, want := range []string{"conversations.last_seq", "messages.client_id", "outbox.dispatched_at", "index:conversations_inbox", "index:messages_client_id", "index:outbox_pending"} {
		if !slices.Contains(first, want) {
			t.Errorf("migrated schema lacks %s", want)
		}
	}
	s := status(t, db)
	if !strings.Contains(s, "00001_init.sql") || !strings.Contains(s, "applied") || strings.Contains(s, "pending") {
		t.Fatalf("status after Up:\n%s", s)
	}

	if err := migrations.Up(ctx, db.SQL(), db.Dialect()); err != nil {
		t.Fatalf("second Up: %v", err)
	}
	if again := schema(t, db); !slices.Equal(first, again) {
		t.Fatalf("second Up changed the schema")
	}
	var versions int
	if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM goose_db_version WHERE version_id > 0").Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if want := migrations.Count(db.Dialect()); versions != want {
		t.Fatalf("goose_db_version has %d applied versions, want %d", versions, want)
	}
	// The pool still works: Up must not close the caller's *sql.DB.
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("database unusable after Up: %v", err)
	}
}

// Several nodes starting at once: every Up succeeds and each migration is
// applied once (PostgreSQL: the advisory lock; SQLite: the single writer).
func TestConcurrentUp(t *testing.T) {
	db := storetest.OpenEmpty(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = migrations.Up(ctx, db.SQL(), db.Dialect())
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Up: %v", err)
		}
	}
	var versions int
	if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM goose_db_version WHERE version_id = 1").Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if versions != 1 {
		t.Fatalf("version 1 recorded %d times", versions)
	}
}

func TestUnknownDialect(t *testing.T) {
	db := storetest.OpenEmpty(t)
	err := migrations.Up(ctx, db.SQL(), "mysql")
	if err == nil || !strings.Contains(err.Error(), `unknown dialect "mysql"`) {
		t.Fatalf("Up with dialect mysql: %v", err)
	}
}

// The two dialect directories must stay twins: same files, same tables, same
// indexes (the jsonb GIN index aside). The store's schema test checks the
// columns against a live database of each dialect.
func TestDialectsDescribeTheSameSchema(t *testing.T) {
	names := func(dir string) []string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	pg, lite := names("postgres"), names("sqlite")
	if !slices.Equal(pg, lite) {
		t.Fatalf("migration files differ: postgres %v, sqlite %v", pg, lite)
	}
	objects := regexp.MustCompile(`(?m)^CREATE (?:UNIQUE )?(TABLE|INDEX) (\w+)`)
	for _, name := range pg {
		list := func(dialect string) []string {
			b, err := os.ReadFile(dialect + "/" + name)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, m := range objects.FindAllStringSubmatch(string(b), -1) {
				if m[2] != "conversations_labels" { // PostgreSQL only: GIN over jsonb
					out = append(out, m[1]+" "+m[2])
				}
			}
			slices.Sort(out)
			return out
		}
		if p, s := list("postgres"), list("sqlite"); !slices.Equal(p, s) {
			t.Errorf("%s: postgres defines %v\nsqlite defines %v", name, p, s)
		}
	}
}

// On PostgreSQL, Up waits while another node holds the migration lock and
// proceeds once it is released.
func TestUpWaitsForTheMigrationLock(t *testing.T) {
	db := storetest.OpenEmpty(t)
	if db.Dialect() != migrations.Postgres {
		t.Skip("the advisory lock is PostgreSQL only")
	}
	id, err := migrations.LockID(ctx, db.SQL())
	if err != nil {
		t.Fatal(err)
	}
	other, err := db.SQL().Conn(ctx) // "another node"
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ExecContext(ctx, "SELECT pg_advisory_lock($1)", id); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- migrations.Up(ctx, db.SQL(), db.Dialect()) }()
	select {
	case err := <-done:
		t.Fatalf("Up finished while another node held the migration lock (err %v)", err)
	case <-time.After(1500 * time.Millisecond):
	}
	if _, err := other.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", id); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Up after the lock was released: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Up still waiting after the lock was released")
	}
}
