package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver ("sqlite")
)

// openSQLite opens a SQLite file in WAL mode with full syncs, so a
// committed result is on disk before Put returns.
func openSQLite(path string) (*sqlStore, error) {
	if path == "" {
		return nil, fmt.Errorf("store: %w", errNoFile)
	}
	// SQLite says only "unable to open database file" for a file in a
	// directory that does not exist.
	if dir := filepath.Dir(path); !exists(dir) {
		return nil, fmt.Errorf("store: opening %s: no directory %s", path, dir)
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(ON)"} {
		q.Add("_pragma", p)
	}
	// Writers take the lock when they begin, not at their first write,
	// so two writers never deadlock upgrading a read lock.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", sqliteURL(path, q))
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
	return &sqlStore{db: db, d: sqliteDialect}, nil
}

var sqliteDialect = dialect{name: "sqlite", agg: "group_concat(check_id || '=' || status, ' ')"}

func sqliteURL(path string, q url.Values) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// openSQLiteReadOnly opens a SQLite file that cannot be written, for
// reading: no pragma that writes, and no write lock. Read-only WAL access
// needs its -shm file, which a read-only directory may not let SQLite
// create; then the file is read as immutable (nothing can change it: it
// is not writable).
func openSQLiteReadOnly(ctx context.Context, path string) (*sqlStore, error) {
	var last error
	for _, mode := range []string{"mode", "immutable"} {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "query_only(1)")
		if mode == "mode" {
			q.Set("mode", "ro")
		} else {
			q.Set("immutable", "1")
		}
		db, err := sql.Open("sqlite", sqliteURL(path, q))
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		db.SetMaxOpenConns(4)
		var n int
		if last = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); last == nil {
			return &sqlStore{db: db, d: sqliteDialect}, nil
		}
		_ = db.Close()
	}
	return nil, fmt.Errorf("store: opening %s read-only: %w", path, last)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}
