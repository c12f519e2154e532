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
	// DeleteBefore deletes the results created before t and says how many.
	DeleteBefore(ctx context.Context, t time.Time) (int64, error)
	// Version is the schema version in force.
	Version(ctx context.Context) (int, error)
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
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx, v); err != nil {
		_ = s.Close()
		return nil, err
	}
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
