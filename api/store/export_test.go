package store

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
)

// RowColumns maps each table the store's row structs map to its columns and
// whether each column is nullable (a pointer field).
func RowColumns(db *DB) (map[string]map[string]bool, error) {
	out := map[string]map[string]bool{}
	for _, r := range allRows {
		stmt := &gorm.Statement{DB: db.w}
		if err := stmt.Parse(r); err != nil {
			return nil, err
		}
		cols := map[string]bool{}
		for _, f := range stmt.Schema.Fields {
			if f.DBName != "" {
				cols[f.DBName] = f.FieldType.Kind() == reflect.Pointer
			}
		}
		out[stmt.Schema.Table] = cols
	}
	return out, nil
}

// Statement is one SQL statement the store ran, with its arguments.
type Statement struct {
	SQL  string
	Vars []any
}

// CaptureReads runs fn and returns the statements it ran on the read pool,
// so that a test can EXPLAIN exactly what the store asks the database.
func CaptureReads(db *DB, fn func() error) ([]Statement, error) {
	var (
		mu  sync.Mutex
		out []Statement
	)
	record := func(tx *gorm.DB) {
		mu.Lock()
		defer mu.Unlock()
		out = append(out, Statement{SQL: tx.Statement.SQL.String(), Vars: slices.Clone(tx.Statement.Vars)})
	}
	const name = "storetest:capture"
	cb := db.r.Callback()
	if err := cb.Query().After("gorm:query").Register(name, record); err != nil {
		return nil, err
	}
	defer cb.Query().Remove(name)
	if err := cb.Row().After("gorm:row").Register(name, record); err != nil {
		return nil, err
	}
	defer cb.Row().Remove(name)
	err := fn()
	return out, err
}

// Explain returns the query plan of s on the read pool: the detail lines of
// EXPLAIN QUERY PLAN on SQLite (indented by depth), the lines of
// EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL.
//
// On PostgreSQL, generic asks for the generic plan of s as a prepared
// statement. The driver (pgx) caches prepared statements per connection,
// and after five executions PostgreSQL may switch a statement to its
// generic plan, planned without the parameters' values: that is the plan
// a busy server runs most of the time.
func Explain(ctx context.Context, db *DB, s Statement, generic bool) ([]string, error) {
	sqlDB, err := db.r.DB()
	if err != nil {
		return nil, err
	}
	if db.dialect == DialectPostgres {
		conn, err := sqlDB.Conn(ctx)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		q := "EXPLAIN (ANALYZE, BUFFERS) " + s.SQL
		if generic {
			if _, err := conn.ExecContext(ctx, "SET plan_cache_mode = force_generic_plan"); err != nil {
				return nil, err
			}
			defer conn.ExecContext(context.WithoutCancel(ctx), "RESET plan_cache_mode")
			if _, err := conn.ExecContext(ctx, "PREPARE sb_explain AS "+s.SQL); err != nil {
				return nil, err
			}
			defer conn.ExecContext(context.WithoutCancel(ctx), "DEALLOCATE sb_explain")
			// EXECUTE takes no bind parameters: its arguments are literals,
			// coerced to the prepared statement's parameter types.
			params := make([]string, len(s.Vars))
			for i, v := range s.Vars {
				switch v := v.(type) {
				case nil:
					params[i] = "NULL"
				case time.Time:
					params[i] = "'" + v.Format(time.RFC3339Nano) + "'"
				default:
					params[i] = "'" + strings.ReplaceAll(fmt.Sprint(v), "'", "''") + "'"
				}
			}
			q = "EXPLAIN (ANALYZE, BUFFERS) EXECUTE sb_explain(" + strings.Join(params, ", ") + ")"
			s.Vars = nil
		}
		rows, err := conn.QueryContext(ctx, q, s.Vars...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return nil, err
			}
			out = append(out, line)
		}
		return out, rows.Err()
	}
	rows, err := sqlDB.QueryContext(ctx, "EXPLAIN QUERY PLAN "+s.SQL, s.Vars...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	depth := map[int64]int{0: 0}
	var out []string
	for rows.Next() {
		var id, parent, unused int64
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, err
		}
		depth[id] = depth[parent] + 1
		out = append(out, strings.Repeat("  ", depth[id]-1)+detail)
	}
	return out, rows.Err()
}
