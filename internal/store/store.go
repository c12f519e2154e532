// Package store keeps the reports of rtcprobe serve's pre-call page:
// SQLite in a file by default (a pure-Go driver, no cgo), PostgreSQL when
// the DSN is postgres://… (several servers behind a load balancer share
// one store). The schema is versioned and migrated at open; Put returns
// only once the result is durable, so an acknowledged result survives a
// crash of the process.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Result is one stored pre-call report with the fields the admin pages
// filter on.
type Result struct {
	// ID is unguessable: it is the report's link.
	ID      string
	Created time.Time
	// Verdict is the report's summary status.
	Verdict string
	// Browser is "Firefox 153.0"; OS "Linux".
	Browser string
	OS      string
	// Client is the client's address as stored (truncated unless the
	// operator keeps full addresses).
	Client string
	// Checks are the status of each check ID in the report (the worst
	// when a check ran on several subjects); Get and List fill them in.
	Checks map[string]string
	// Report is the rtcprobe/v1 JSON. List leaves it empty unless asked.
	Report []byte
}

// Filter selects results; zero fields do not filter.
type Filter struct {
	Verdict string
	// Since and Until bound Created (Since inclusive, Until exclusive).
	Since, Until time.Time
	// Browser matches a part of the browser name, case-insensitively.
	Browser string
	// Failing is a check ID that failed (status fail or error).
	Failing string
	// Limit caps the results (default 100, at most 10000); Offset skips.
	Limit, Offset int
	// WithReport includes each result's report.
	WithReport bool
}

// ErrNotFound is a result that is not (or no longer) stored.
var ErrNotFound = errors.New("no such result")

// Store keeps results.
type Store interface {
	// Put stores r durably before it returns.
	Put(ctx context.Context, r Result) error
	// Get returns a result with its report.
	Get(ctx context.Context, id string) (Result, error)
	// List returns the results f selects, newest first.
	List(ctx context.Context, f Filter) ([]Result, error)
	// Each calls fn with each result f selects, newest first, as the
	// database hands them over: one row in memory at a time, however many
	// it selects. An error from fn stops it and is returned.
	Each(ctx context.Context, f Filter, fn func(Result) error) error
	// DeleteBefore deletes the results created before t and says how many.
	DeleteBefore(ctx context.Context, t time.Time) (int64, error)
	// Version is the schema version in force.
	Version(ctx context.Context) (int, error)
	// Writable checks that a result could be stored now: a small write
	// (so a full or read-only database fails it, not only a lost one).
	Writable(ctx context.Context) error
	// ReadOnly reports whether the store was opened read-only because its
	// database could not be written: it serves reads, and Put fails with
	// ErrReadOnly.
	ReadOnly() bool
	Close() error
}

// Open opens (creating and migrating) the store a DSN names:
// postgres://… or postgresql://… for PostgreSQL, anything else is the
// path of a SQLite file ("sqlite:" prefix optional).
func Open(ctx context.Context, dsn string) (Store, error) {
	return OpenAt(ctx, dsn, len(migrations))
}

// OpenAt opens the store migrated up to schema version v only: for
// testing migrations from an older schema.
func OpenAt(ctx context.Context, dsn string, v int) (Store, error) {
	if v < 1 || v > len(migrations) {
		return nil, fmt.Errorf("store: no schema version %d", v)
	}
	var (
		s   *sqlStore
		err error
	)
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		s, err = openPostgres(dsn)
	default:
		s, err = openSQLite(strings.TrimPrefix(dsn, "sqlite:"))
	}
	if err == nil {
		if err = s.migrate(ctx, v); err != nil {
			_ = s.Close()
		}
	}
	if err != nil {
		if !readOnlyAtOpen(err) {
			return nil, err
		}
		// The database cannot be written (a read-only file, directory or
		// standby): what it holds can still be read, if its schema is one
		// this rtcprobe reads.
		ro, roErr := openReadOnly(ctx, dsn)
		if roErr != nil {
			return nil, fmt.Errorf("%w (and read-only: %w)", err, roErr)
		}
		return ro, nil
	}
	return s, nil
}

// minReadVersion is the oldest schema the reads understand (the os
// column and result_checks came with version 2).
const minReadVersion = 2

// openReadOnly opens a store that only reads.
func openReadOnly(ctx context.Context, dsn string) (*sqlStore, error) {
	var (
		s   *sqlStore
		err error
	)
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		s, err = openPostgres(dsn)
	default:
		s, err = openSQLiteReadOnly(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	}
	if err != nil {
		return nil, err
	}
	v, err := s.Version(ctx)
	if err == nil && (v < minReadVersion || v > len(migrations)) {
		err = fmt.Errorf("store: the database has schema version %d; read-only, this rtcprobe reads versions %d to %d", v, minReadVersion, len(migrations))
	}
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	s.readOnly = true
	return s, nil
}

// Redact is a DSN fit for logs: a PostgreSQL URL without its password
// and query values.
func Redact(dsn string) string {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn
	}
	scheme, rest, _ := strings.Cut(dsn, "://")
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		user, _, _ := strings.Cut(rest[:at], ":")
		rest = user + ":xxxxx" + rest[at:]
	}
	if q := strings.Index(rest, "?"); q >= 0 {
		rest = rest[:q] + "?…"
	}
	return scheme + "://" + rest
}
