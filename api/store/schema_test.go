package store_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/switchboard-chat/switchboard/api/store"
	"github.com/switchboard-chat/switchboard/api/store/storetest"
)

// migratedColumns reads the migrated schema: table -> column -> nullable.
func migratedColumns(t *testing.T, db *store.DB) map[string]map[string]bool {
	t.Helper()
	q := `SELECT table_name, column_name, is_nullable = 'YES' FROM information_schema.columns
		WHERE table_schema = current_schema()`
	if db.Dialect() == store.DialectSQLite {
		// A primary key column reports notnull = 0 in SQLite but never holds NULL.
		q = `SELECT m.name, p.name, p."notnull" = 0 AND p.pk = 0
			FROM sqlite_master m JOIN pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`
	}
	rows, err := db.SQL().QueryContext(ctx, q)
	must(t, err)
	defer rows.Close()
	out := map[string]map[string]bool{}
	for rows.Next() {
		var table, column string
		var nullable bool
		must(t, rows.Scan(&table, &column, &nullable))
		if table == "goose_db_version" {
			continue
		}
		if out[table] == nil {
			out[table] = map[string]bool{}
		}
		out[table][column] = nullable
	}
	must(t, rows.Err())
	return out
}

// TestSchemaMatchesRowStructs fails when the migrations and the store's row
// structs drift apart: a table or column on one side only, or a nullable
// column mapped to a non-pointer field (or the reverse).
func TestSchemaMatchesRowStructs(t *testing.T) {
	db := storetest.Open(t)
	want, err := store.RowColumns(db)
	must(t, err)
	got := migratedColumns(t, db)

	tables := slices.Sorted(maps.Keys(want))
	if g := slices.Sorted(maps.Keys(got)); !slices.Equal(g, tables) {
		t.Fatalf("tables in the %s schema:\n  %v\nmapped by row structs:\n  %v", db.Dialect(), g, tables)
	}
	for _, table := range tables {
		for col, nullable := range want[table] {
			dbNullable, ok := got[table][col]
			switch {
			case !ok:
				t.Errorf("%s.%s is mapped but missing from the %s schema", table, col, db.Dialect())
			case nullable != dbNullable:
				t.Errorf("%s.%s: nullable in schema = %v, pointer field = %v", table, col, dbNullable, nullable)
			}
		}
		for col := range got[table] {
			if _, ok := want[table][col]; !ok {
				t.Errorf("%s.%s exists in the %s schema but no row struct maps it", table, col, db.Dialect())
			}
		}
	}
	if len(tables) < 16 {
		t.Errorf("only %d tables: %v", len(tables), tables)
	}
}
