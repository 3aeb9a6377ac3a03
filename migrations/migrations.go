// Package migrations holds Switchboard's database schema as versioned goose
// SQL files, one directory per dialect (postgres/, sqlite/), embedded in the
// binary. The two directories must describe the same tables and columns: the
// store maps both with the same row structs, and its tests check that.
//
// Nothing migrates implicitly: `switchboard migrate` (or the caller of
// store.Open) runs Up explicitly.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"text/tabwriter"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Dialect names, as returned by store.DB.Dialect.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Up applies every pending migration. On PostgreSQL it holds a session-level
// advisory lock while doing so, so several nodes starting at once apply each
// migration exactly once; the others wait and then find nothing to do.
func Up(ctx context.Context, db *sql.DB, dialect string) error {
	p, err := newProvider(ctx, db, dialect)
	if err != nil {
		return err
	}
	// No p.Close(): it would close the caller's *sql.DB.
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: apply %s schema: %w", dialect, err)
	}
	return nil
}

// Status writes one line per known migration: version, state (applied or
// pending), when it was applied, and its file.
func Status(ctx context.Context, db *sql.DB, dialect string, w io.Writer) error {
	p, err := newProvider(ctx, db, dialect)
	if err != nil {
		return err
	}
	list, err := p.Status(ctx)
	if err != nil {
		return fmt.Errorf("migrations: read %s schema status: %w", dialect, err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSTATE\tAPPLIED AT\tFILE")
	for _, s := range list {
		applied := "-"
		if s.State == goose.StateApplied {
			applied = s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", s.Source.Version, s.State, applied, s.Source.Path)
	}
	return tw.Flush()
}

func newProvider(ctx context.Context, db *sql.DB, dialect string) (*goose.Provider, error) {
	var (
		gd   goose.Dialect
		opts []goose.ProviderOption
	)
	switch dialect {
	case Postgres:
		gd = goose.DialectPostgres
		id, err := lockID(ctx, db)
		if err != nil {
			return nil, err
		}
		// Retry every second for up to five minutes: long enough for another
		// node to finish migrating, short enough to fail a stuck deploy.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(id), lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	case SQLite:
		// SQLite has a single writer anyway; goose's transaction per
		// migration is all the locking it needs.
		gd = goose.DialectSQLite3
	default:
		return nil, fmt.Errorf("migrations: unknown dialect %q (want %q or %q)", dialect, Postgres, SQLite)
	}
	sub, err := fs.Sub(files, dialect)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	// No Go migrations: keep goose's global registry out of it.
	opts = append(opts, goose.WithDisableGlobalRegistry(true))
	p, err := goose.NewProvider(gd, db, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// lockID derives the advisory lock key from the current schema: nodes
// migrating the same schema exclude each other, while separate schemas in one
// database (one per test, say) do not wait for each other.
func lockID(ctx context.Context, db *sql.DB) (int64, error) {
	var schema sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return 0, fmt.Errorf("migrations: read current schema: %w", err)
	}
	h := fnv.New64a()
	io.WriteString(h, "switchboard-migrations:"+schema.String)
	return int64(h.Sum64()), nil
}
