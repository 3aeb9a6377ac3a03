// Package store implements chat.Store with GORM, on PostgreSQL and on SQLite
// (pure Go, through github.com/glebarez/sqlite). The schema belongs to the
// migrations package; Open never migrates.
//
// A few rules hold throughout:
//   - every time written is UTC truncated to microseconds, so values
//     round-trip identically on both dialects and SQLite's text timestamps
//     sort in time order;
//   - every workspace-scoped query filters on workspace_id, so another
//     tenant's row is ENOTFOUND exactly like a missing one;
//   - outbox rows are written inside the transaction of the change.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	neturl "net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// Dialect names, matching the migrations package.
const (
	DialectPostgres = "postgres"
	DialectSQLite   = "sqlite"
)

// DB is the GORM-backed chat.Store.
type DB struct {
	dialect string
	// w runs every write and every transaction. On SQLite it is a pool of
	// exactly one connection: writers queue in Go instead of failing with
	// "database is locked", and transactions begin IMMEDIATE so another
	// process sharing the file cannot deadlock a read-then-write upgrade.
	w *gorm.DB
	// r runs plain reads. On a SQLite file it is a separate read-only pool
	// (WAL lets readers run beside the writer); elsewhere it is w.
	r *gorm.DB
}

var _ chat.Store = (*DB)(nil)

// Open connects to the database named by url:
//
//	""                          SQLite at dataDir/switchboard.db (dataDir is created)
//	postgres://... postgresql://...  PostgreSQL
//	sqlite://PATH, file:PATH    SQLite at PATH (":memory:" for a private in-memory database)
//
// It checks the connection but does not migrate: run migrations.Up on SQL()
// with Dialect() first.
func Open(ctx context.Context, url, dataDir string) (*DB, error) {
	switch {
	case url == "":
		if dataDir == "" {
			return nil, errors.New("store: no database URL and no data directory: set one of them")
		}
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("store: create data directory: %w", err)
		}
		return openSQLite(ctx, filepath.Join(dataDir, "switchboard.db"))
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return openPostgres(ctx, url)
	case strings.HasPrefix(url, "sqlite://"):
		return openSQLite(ctx, strings.TrimPrefix(url, "sqlite://"))
	case strings.HasPrefix(url, "file:"):
		return openSQLite(ctx, strings.TrimPrefix(url, "file:"))
	}
	scheme, _, _ := strings.Cut(url, ":")
	return nil, fmt.Errorf("store: unsupported database URL scheme %q: want postgres://, postgresql://, sqlite:// or file:", scheme)
}

func gormConfig() *gorm.Config {
	return &gorm.Config{
		// Duplicate keys and foreign key violations come back as
		// gorm.ErrDuplicatedKey / ErrForeignKeyViolated on both dialects.
		TranslateError: true,
		// Single statements need no transaction of their own; multi-statement
		// changes use DB.tx explicitly.
		SkipDefaultTransaction: true,
		Logger:                 logger.Discard,
		NowFunc:                now,
	}
}

func openPostgres(ctx context.Context, url string) (*DB, error) {
	g, err := gorm.Open(postgres.Open(url), gormConfig())
	if err != nil {
		return nil, fmt.Errorf("store: connect to PostgreSQL at %s: %w", redact(url), err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	sqlDB.SetMaxOpenConns(25)
	sqlDB.SetMaxIdleConns(25)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	db := &DB{dialect: DialectPostgres, w: g, r: g}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to PostgreSQL at %s: %w", redact(url), err)
	}
	return db, nil
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: SQLite URL has no file path (want sqlite://PATH or file:PATH)")
	}
	if strings.Contains(path, "?") {
		return nil, fmt.Errorf("store: SQLite path %q: query parameters are not supported, the store sets its own", path)
	}
	memory := path == ":memory:"
	if !memory {
		if fi, err := os.Stat(path); err == nil && fi.IsDir() {
			return nil, fmt.Errorf("store: SQLite path %s is a directory, not a database file", path)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("store: create directory for SQLite database: %w", err)
		}
	}

	// The driver runs each _pragma on every new connection, in order. The
	// busy timeout comes first so that switching to WAL waits for another
	// process instead of failing. synchronous stays at its default (FULL):
	// a message is acknowledged only after a durable commit.
	wparams := neturl.Values{
		"_pragma": {"busy_timeout(10000)", "foreign_keys(1)", "journal_mode(WAL)"},
		"_txlock": {"immediate"},
	}
	// query_only turns an accidental write through the read pool into an error.
	rparams := neturl.Values{"_pragma": {"busy_timeout(10000)", "foreign_keys(1)", "query_only(1)"}}

	w, err := gorm.Open(sqlite.Open(path+"?"+wparams.Encode()), gormConfig())
	if err != nil {
		return nil, fmt.Errorf("store: open SQLite database %s: %w", path, err)
	}
	wdb, _ := w.DB()
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	db := &DB{dialect: DialectSQLite, w: w, r: w}

	// An in-memory database exists once per connection, so it cannot have a
	// separate read pool: everything goes through the single writer.
	if !memory {
		// The writer has now switched the file to WAL; readers may open.
		r, err := gorm.Open(sqlite.Open(path+"?"+rparams.Encode()), gormConfig())
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("store: open SQLite database %s for reading: %w", path, err)
		}
		rdb, _ := r.DB()
		rdb.SetMaxOpenConns(max(4, runtime.NumCPU()))
		rdb.SetMaxIdleConns(max(4, runtime.NumCPU()))
		db.r = r
	}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open SQLite database %s: %w", path, err)
	}
	return db, nil
}

// redact hides the password of a database URL in error messages.
func redact(url string) string {
	u, err := neturl.Parse(url)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// SQL returns the connection pool that writes, for migrations and ad-hoc
// maintenance. On SQLite it has a single connection: do not hold it.
func (db *DB) SQL() *sql.DB {
	s, _ := db.w.DB()
	return s
}

// Dialect reports "postgres" or "sqlite".
func (db *DB) Dialect() string { return db.dialect }

// Ping checks that both pools answer.
func (db *DB) Ping(ctx context.Context) error {
	for _, g := range db.pools() {
		s, err := g.DB()
		if err != nil {
			return err
		}
		if err := s.PingContext(ctx); err != nil {
			// The code is for callers, the cause for logs.
			return fmt.Errorf("%w (%v)", chat.Errorf(chat.EUNAVAILABLE, "database unavailable"), err)
		}
	}
	return nil
}

// Close closes both pools.
func (db *DB) Close() error {
	var errs []error
	for _, g := range db.pools() {
		if s, err := g.DB(); err == nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}

func (db *DB) pools() []*gorm.DB {
	if db.r == db.w {
		return []*gorm.DB{db.w}
	}
	return []*gorm.DB{db.w, db.r}
}

// read and write return a session bound to ctx on the right pool.
func (db *DB) read(ctx context.Context) *gorm.DB  { return db.r.WithContext(ctx) }
func (db *DB) write(ctx context.Context) *gorm.DB { return db.w.WithContext(ctx) }

// tx runs fn in a transaction on the writer. Inside fn use only tx: on SQLite
// the writer pool has one connection, which fn's transaction is holding.
func (db *DB) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return db.w.WithContext(ctx).Transaction(fn)
}

// forUpdate locks the selected rows until the end of the transaction on
// PostgreSQL. SQLite needs nothing: its transactions begin IMMEDIATE, holding
// the database's single write lock from the start.
func (db *DB) forUpdate(tx *gorm.DB) *gorm.DB {
	if db.dialect == DialectPostgres {
		return tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	return tx
}

// now is the store's clock: UTC, microsecond precision (what PostgreSQL keeps).
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// utc normalises a caller's time the same way.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := utc(*t)
	return &u
}

// dbError turns database errors into domain errors: missing rows are
// ENOTFOUND, duplicates ECONFLICT, dangling references EINVALID. Domain
// errors and context errors pass through; anything else is wrapped with op
// and becomes EINTERNAL for callers.
func dbError(err error, op, what string) error {
	var (
		ce *chat.Error
		oe *opError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce), errors.As(err, &oe), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err // already classified
	case errors.Is(err, gorm.ErrRecordNotFound), errors.Is(err, sql.ErrNoRows):
		return chat.Errorf(chat.ENOTFOUND, "%s not found", what)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return chat.Errorf(chat.ECONFLICT, "%s already exists", what)
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return chat.Errorf(chat.EINVALID, "%s refers to something that does not exist", what)
	}
	return &opError{op: op, err: err}
}

// opError is an unexpected database error with the operation that hit it.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string { return "store: " + e.op + ": " + e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

func notFound(what string) error { return chat.Errorf(chat.ENOTFOUND, "%s not found", what) }

func invalid(format string, args ...any) error { return chat.Errorf(chat.EINVALID, format, args...) }
