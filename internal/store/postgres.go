package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the PostgreSQL driver ("pgx")
)

// migrationLock is the advisory lock serve instances take while one of
// them migrates a shared database ("rtcprobe" in ASCII).
const migrationLock = 0x72746370726f6265

// openPostgres connects to PostgreSQL; commits are durable there by
// default (synchronous_commit on).
func openPostgres(dsn string) (*sqlStore, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", Redact(dsn), err)
	}
	db.SetMaxOpenConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: connecting to %s: %w", Redact(dsn), err)
	}
	return &sqlStore{db: db, d: dialect{name: "postgres", dollar: true, agg: "string_agg(check_id || '=' || status, ' ')", lock: fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", migrationLock)}}, nil
}
