package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// sqlStore is the Store over database/sql; the two databases differ in
// their driver, placeholders and a few statements (dialect).
type sqlStore struct {
	db *sql.DB
	d  dialect
	// readOnly: the database could not be written at open; reads only.
	readOnly bool
}

type dialect struct {
	name string
	// dollar placeholders ($1) instead of ?.
	dollar bool
	// lock serialises migrations between processes sharing the database
	// (PostgreSQL's advisory lock; SQLite's write transaction does it).
	lock string
	// agg joins a result's "check=status" pairs with spaces in one row.
	agg string
}

// q rewrites ? placeholders for the dialect.
func (s *sqlStore) q(query string) string {
	if !s.d.dollar {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (s *sqlStore) Close() error { return s.db.Close() }

func (s *sqlStore) ReadOnly() bool { return s.readOnly }

// Writable rewrites the one row of store_health in a transaction of its
// own: it fails as a result's write would (read-only, full, gone).
func (s *sqlStore) Writable(ctx context.Context) error {
	if s.readOnly {
		return ErrReadOnly
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, s.q(`UPDATE store_health SET checked_ms = ? WHERE id = 1`), time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO store_health (id, checked_ms) VALUES (1, ?)`), time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// failing are the statuses the "failing check" filter means.
var failing = []string{"fail", "error"}

func (s *sqlStore) Put(ctx context.Context, r Result) error {
	if r.ID == "" || len(r.Report) == 0 {
		return errors.New("store: a result needs an ID and a report")
	}
	if s.readOnly {
		return ErrReadOnly
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO results (id, created_ms, verdict, browser, os, client, report) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		r.ID, r.Created.UnixMilli(), r.Verdict, r.Browser, r.OS, r.Client, string(r.Report)); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := insertChecks(ctx, tx, s, r.ID, r.Checks); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

func insertChecks(ctx context.Context, tx *sql.Tx, s *sqlStore, id string, checks map[string]string) error {
	for check, status := range checks {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO result_checks (result_id, check_id, status) VALUES (?, ?, ?)`), id, check, status); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	return nil
}

func (s *sqlStore) Get(ctx context.Context, id string) (Result, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, created_ms, verdict, browser, os, client, report FROM results WHERE id = ?`), id)
	if err != nil {
		return Result{}, fmt.Errorf("store: %w", err)
	}
	got, err := scanResults(rows, true)
	if err != nil {
		return Result{}, err
	}
	if len(got) == 0 {
		return Result{}, ErrNotFound
	}
	r := got[0]
	if r.Checks, err = s.checks(ctx, r.ID); err != nil {
		return Result{}, err
	}
	return r, nil
}

func (s *sqlStore) checks(ctx context.Context, id string) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT check_id, status FROM result_checks WHERE result_id = ?`), id)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var c, st string
		if err := rows.Scan(&c, &st); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		out[c] = st
	}
	return out, rows.Err()
}

// maxList bounds one List.
const maxList = 10000

func (s *sqlStore) List(ctx context.Context, f Filter) ([]Result, error) {
	query, args := s.selectQuery(f, false)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	out, err := scanResults(rows, f.WithReport)
	if err != nil {
		return nil, err
	}
	return out, s.fillChecks(ctx, out)
}

// Each runs one query and hands its rows over as they come: each row
// carries its checks (aggregated by the database), so nothing is
// gathered first.
func (s *sqlStore) Each(ctx context.Context, f Filter, fn func(Result) error) error {
	query, args := s.selectQuery(f, true)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r       Result
			created int64
			report  string
			checks  sql.NullString
		)
		dest := []any{&r.ID, &created, &r.Verdict, &r.Browser, &r.OS, &r.Client, &checks}
		if f.WithReport {
			dest = append(dest, &report)
		}
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		r.Created = time.UnixMilli(created).UTC()
		r.Report = []byte(report)
		if !f.WithReport {
			r.Report = nil
		}
		r.Checks = map[string]string{}
		for _, pair := range strings.Fields(checks.String) {
			if c, st, ok := strings.Cut(pair, "="); ok {
				r.Checks[c] = st
			}
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// selectQuery is the query of a filter: newest first, bounded by
// maxList; withChecks adds each row's checks, aggregated.
func (s *sqlStore) selectQuery(f Filter, withChecks bool) (string, []any) {
	cols := "id, created_ms, verdict, browser, os, client"
	if withChecks {
		cols += ", (SELECT " + s.d.agg + " FROM result_checks WHERE result_id = results.id)"
	}
	if f.WithReport {
		cols += ", report"
	}
	var (
		where []string
		args  []any
	)
	if f.Verdict != "" {
		where, args = append(where, "verdict = ?"), append(args, f.Verdict)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "created_ms >= ?"), append(args, f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		where, args = append(where, "created_ms < ?"), append(args, f.Until.UnixMilli())
	}
	if f.Browser != "" {
		where, args = append(where, "LOWER(browser) LIKE ? ESCAPE '\\'"), append(args, "%"+escapeLike(strings.ToLower(f.Browser))+"%")
	}
	if f.Failing != "" {
		where = append(where, "id IN (SELECT result_id FROM result_checks WHERE check_id = ? AND status IN (?, ?))")
		args = append(args, f.Failing, failing[0], failing[1])
	}
	query := "SELECT " + cols + " FROM results"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	query += " ORDER BY created_ms DESC, id DESC LIMIT ? OFFSET ?"
	args = append(args, min(limit, maxList), max(0, f.Offset))
	return s.q(query), args
}

// fillChecks reads the check statuses of rs, a few hundred at a time.
func (s *sqlStore) fillChecks(ctx context.Context, rs []Result) error {
	at := map[string]*Result{}
	for i := range rs {
		rs[i].Checks = map[string]string{}
		at[rs[i].ID] = &rs[i]
	}
	const batch = 500
	for start := 0; start < len(rs); start += batch {
		part := rs[start:min(len(rs), start+batch)]
		args := make([]any, len(part))
		for i, r := range part {
			args[i] = r.ID
		}
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(part)), ", ")
		rows, err := s.db.QueryContext(ctx, s.q(`SELECT result_id, check_id, status FROM result_checks WHERE result_id IN (`+marks+`)`), args...)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		for rows.Next() {
			var id, c, st string
			if err := rows.Scan(&id, &c, &st); err != nil {
				rows.Close()
				return fmt.Errorf("store: %w", err)
			}
			at[id].Checks[c] = st
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	return nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func scanResults(rows *sql.Rows, withReport bool) ([]Result, error) {
	defer rows.Close()
	var out []Result
	for rows.Next() {
		var (
			r       Result
			created int64
			report  string
		)
		dest := []any{&r.ID, &created, &r.Verdict, &r.Browser, &r.OS, &r.Client}
		if withReport {
			dest = append(dest, &report)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		r.Created = time.UnixMilli(created).UTC()
		if withReport {
			r.Report = []byte(report)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return out, nil
}

func (s *sqlStore) DeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	cut := t.UnixMilli()
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM result_checks WHERE result_id IN (SELECT id FROM results WHERE created_ms < ?)`), cut); err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	res, err := tx.ExecContext(ctx, s.q(`DELETE FROM results WHERE created_ms < ?`), cut)
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, tx.Commit()
}
