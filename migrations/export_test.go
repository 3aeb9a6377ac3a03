package migrations

// LockID exposes the advisory lock key to the tests.
var LockID = lockID

// Count is how many migrations a dialect has.
func Count(dialect string) int {
	entries, _ := files.ReadDir(dialect)
	return len(entries)
}
