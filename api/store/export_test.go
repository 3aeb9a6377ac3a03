package store

import (
	"reflect"

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
