package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/result"
)

// migration moves the schema one version up, inside the migrating
// transaction.
type migration func(ctx context.Context, tx *sql.Tx, s *sqlStore) error

// migrations are the schema versions in order: version i+1 is
// migrations[i]. Only ever append.
var migrations = []migration{
	// 1: the reports and what lists them.
	func(ctx context.Context, tx *sql.Tx, s *sqlStore) error {
		return execAll(ctx, tx,
			`CREATE TABLE results (
				id TEXT PRIMARY KEY,
				created_ms BIGINT NOT NULL,
				verdict TEXT NOT NULL,
				browser TEXT NOT NULL,
				client TEXT NOT NULL,
				report TEXT NOT NULL)`,
			`CREATE INDEX results_created ON results (created_ms)`)
	},
	// 2: the OS, and each check's status for the "failing check" filter,
	// filled in from the reports already stored.
	func(ctx context.Context, tx *sql.Tx, s *sqlStore) error {
		if err := execAll(ctx, tx,
			`ALTER TABLE results ADD COLUMN os TEXT NOT NULL DEFAULT ''`,
			`CREATE TABLE result_checks (
				result_id TEXT NOT NULL,
				check_id TEXT NOT NULL,
				status TEXT NOT NULL,
				PRIMARY KEY (result_id, check_id))`,
			`CREATE INDEX result_checks_check ON result_checks (check_id, status)`); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, report FROM results`)
		if err != nil {
			return err
		}
		reports := map[string]string{}
		for rows.Next() {
			var id, rep string
			if err := rows.Scan(&id, &rep); err != nil {
				rows.Close()
				return err
			}
			reports[id] = rep
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for id, rep := range reports {
			if err := insertChecks(ctx, tx, s, id, ChecksOf([]byte(rep))); err != nil {
				return err
			}
		}
		return nil
	},
	// 3: a row the health check rewrites, to know a result could be
	// written now.
	func(ctx context.Context, tx *sql.Tx, s *sqlStore) error {
		return execAll(ctx, tx, `CREATE TABLE store_health (id INTEGER PRIMARY KEY, checked_ms BIGINT NOT NULL)`)
	},
}

func execAll(ctx context.Context, tx *sql.Tx, stmts ...string) error {
	for _, st := range stmts {
		if _, err := tx.ExecContext(ctx, st); err != nil {
			return err
		}
	}
	return nil
}

// migrate brings the schema to version to, in one transaction that other
// processes opening the same database wait for.
func (s *sqlStore) migrate(ctx context.Context, to int) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if s.d.lock != "" {
		if _, err := tx.ExecContext(ctx, s.d.lock); err != nil {
			return fmt.Errorf("store: locking for migration: %w", err)
		}
	}
	if err := execAll(ctx, tx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	var cur int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if cur > len(migrations) {
		return fmt.Errorf("store: the database has schema version %d, newer than this rtcprobe knows (%d): upgrade rtcprobe", cur, len(migrations))
	}
	for v := cur + 1; v <= to; v++ {
		if err := migrations[v-1](ctx, tx, s); err != nil {
			return fmt.Errorf("store: migrating to schema version %d: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, applied_ms) VALUES (?, ?)`), v, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

func (s *sqlStore) Version(ctx context.Context) (int, error) {
	var v int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	return v, nil
}

// ChecksOf reads each check's status from an rtcprobe/v1 report: the
// worst when a check ran on several subjects.
func ChecksOf(report []byte) map[string]string {
	var r struct {
		Checks []struct {
			ID     string        `json:"id"`
			Status result.Status `json:"status"`
		} `json:"checks"`
	}
	out := map[string]string{}
	if json.Unmarshal(report, &r) != nil {
		return out
	}
	for _, c := range r.Checks {
		if old, ok := out[c.ID]; !ok || c.Status.Worse(result.Status(old)) {
			out[c.ID] = string(c.Status)
		}
	}
	return out
}
