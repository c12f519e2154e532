package store

import (
	"database/sql"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver ("sqlite")
)

// openSQLite opens a SQLite file in WAL mode with full syncs, so a
// committed result is on disk before Put returns.
func openSQLite(path string) (*sqlStore, error) {
	if path == "" {
		return nil, fmt.Errorf("store: no SQLite file given")
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(ON)"} {
		q.Add("_pragma", p)
	}
	// Writers take the lock when they begin, not at their first write,
	// so two writers never deadlock upgrading a read lock.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// One writer at a time is all SQLite has; a few connections let
	// readers (WAL) go on beside it.
	db.SetMaxOpenConns(4)
	if err := db.Ping(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: opening %s: %w", path, err)
	}
	return &sqlStore{db: db, d: dialect{name: "sqlite"}}, nil
}
