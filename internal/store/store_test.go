package store

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/pgtest"
)

// backends are the stores every test runs against: SQLite in a temporary
// file and a throw-away PostgreSQL cluster (one per test binary).
func backends(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return filepath.Join(t.TempDir(), "results.db") },
		"postgres": func(t *testing.T) string {
			c := pgtest.Start(t)
			return c.DSN()
		},
	}
}

func each(t *testing.T, f func(t *testing.T, dsn string)) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) { f(t, dsn(t)) })
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func open(t *testing.T, dsn string) Store {
	t.Helper()
	s, err := Open(ctx(t), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// report is a small rtcprobe/v1 report with the given check statuses.
func report(statuses map[string]string) []byte {
	var parts []string
	for id, st := range statuses {
		parts = append(parts, fmt.Sprintf(`{"id":%q,"status":%q}`, id, st))
	}
	return []byte(`{"schema":"rtcprobe/v1","checks":[` + strings.Join(parts, ",") + `]}`)
}

func stored(created time.Time, verdict, browser string, checks map[string]string) Result {
	rep := report(checks)
	return Result{ID: rand.Text(), Created: created, Verdict: verdict, Browser: browser, OS: "Linux", Client: "192.0.2.0/24",
		Checks: ChecksOf(rep), Report: rep}
}

func ids(rs []Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestPutGetList(t *testing.T) {
	each(t, func(t *testing.T, dsn string) {
		s := open(t, dsn)
		c := ctx(t)
		base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
		a := stored(base, "pass", "Chrome 156.0", map[string]string{"browser.api": "pass"})
		b := stored(base.Add(time.Minute), "fail", "Firefox 153.0", map[string]string{"browser.ice": "fail", "browser.api": "pass"})
		d := stored(base.Add(2*time.Minute), "warn", "Firefox 153.0", map[string]string{"browser.ice": "warn"})
		for _, r := range []Result{a, b, d} {
			if err := s.Put(c, r); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Put(c, a); err == nil {
			t.Fatal("the same ID was stored twice")
		}
		got, err := s.Get(c, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Report) != string(b.Report) || got.Browser != b.Browser || !got.Created.Equal(b.Created) || got.Checks["browser.ice"] != "fail" {
			t.Fatalf("Get = %+v, want %+v", got, b)
		}
		if _, err := s.Get(c, "no-such-id"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get(unknown) = %v, want ErrNotFound", err)
		}
		for _, tc := range []struct {
			name string
			f    Filter
			want []Result
		}{
			{"all, newest first", Filter{}, []Result{d, b, a}},
			{"verdict", Filter{Verdict: "fail"}, []Result{b}},
			{"since", Filter{Since: base.Add(time.Minute)}, []Result{d, b}},
			{"until", Filter{Until: base.Add(time.Minute)}, []Result{a}},
			{"browser, any case", Filter{Browser: "fireFOX"}, []Result{d, b}},
			{"browser wildcard is literal", Filter{Browser: "%"}, nil},
			{"failing check", Filter{Failing: "browser.ice"}, []Result{b}},
			{"limit and offset", Filter{Limit: 1, Offset: 1}, []Result{b}},
		} {
			list, err := s.List(c, tc.f)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if fmt.Sprint(ids(list)) != fmt.Sprint(ids(tc.want)) {
				t.Errorf("%s: got %v, want %v", tc.name, ids(list), ids(tc.want))
			}
			for _, r := range list {
				if len(r.Report) != 0 {
					t.Errorf("%s: List returned reports without WithReport", tc.name)
				}
				if fmt.Sprint(r.Checks) != fmt.Sprint(ChecksOf(map[string]Result{a.ID: a, b.ID: b, d.ID: d}[r.ID].Report)) {
					t.Errorf("%s: %s's checks = %v", tc.name, r.ID, r.Checks)
				}
			}
		}
		list, err := s.List(c, Filter{WithReport: true, Limit: 1})
		if err != nil || len(list) != 1 || string(list[0].Report) != string(d.Report) {
			t.Fatalf("WithReport: %v %v", list, err)
		}
	})
}

func TestRetention(t *testing.T) {
	each(t, func(t *testing.T, dsn string) {
		s := open(t, dsn)
		c := ctx(t)
		now := time.Now()
		old := stored(now.Add(-31*24*time.Hour), "pass", "Chrome", map[string]string{"browser.api": "fail"})
		fresh := stored(now.Add(-time.Hour), "pass", "Chrome", map[string]string{"browser.api": "fail"})
		for _, r := range []Result{old, fresh} {
			if err := s.Put(c, r); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.DeleteBefore(c, now.Add(-30*24*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("DeleteBefore = %d, %v; want 1", n, err)
		}
		if _, err := s.Get(c, old.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("the old result is still there: %v", err)
		}
		if _, err := s.Get(c, fresh.ID); err != nil {
			t.Fatalf("the fresh result went too: %v", err)
		}
		list, err := s.List(c, Filter{Failing: "browser.api"})
		if err != nil || fmt.Sprint(ids(list)) != fmt.Sprint([]string{fresh.ID}) {
			t.Fatalf("the deleted result's checks are still listed: %v %v", ids(list), err)
		}
	})
}

// TestMigrations: a new database gets every version; one at version 1
// keeps its results and gets the new columns filled in from the
// stored reports; a database newer than this code is refused.
func TestMigrations(t *testing.T) {
	each(t, func(t *testing.T, dsn string) {
		c := ctx(t)
		old, err := OpenAt(c, dsn, 1)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := old.Version(c); err != nil || v != 1 {
			t.Fatalf("version %d, %v", v, err)
		}
		// A result written by schema version 1 (no os column, no
		// result_checks table).
		rep := report(map[string]string{"browser.ice": "fail", "browser.api": "pass"})
		raw := old.(*sqlStore)
		if _, err := raw.db.ExecContext(c, raw.q(`INSERT INTO results (id, created_ms, verdict, browser, client, report) VALUES (?, ?, ?, ?, ?, ?)`),
			"from-v1", time.Now().UnixMilli(), "fail", "Firefox 128.0", "198.51.100.0/24", string(rep)); err != nil {
			t.Fatal(err)
		}
		if err := old.Close(); err != nil {
			t.Fatal(err)
		}
		s := open(t, dsn)
		if v, err := s.Version(c); err != nil || v != len(migrations) {
			t.Fatalf("after migration: version %d, %v; want %d", v, err, len(migrations))
		}
		got, err := s.Get(c, "from-v1")
		if err != nil || string(got.Report) != string(rep) || got.Checks["browser.ice"] != "fail" {
			t.Fatalf("the old result after migration: %+v, %v", got, err)
		}
		list, err := s.List(c, Filter{Failing: "browser.ice"})
		if err != nil || len(list) != 1 {
			t.Fatalf("failing filter on a migrated result: %v %v", list, err)
		}
		// Opening again migrates nothing.
		again := open(t, dsn)
		if v, _ := again.Version(c); v != len(migrations) {
			t.Fatalf("version after a second open: %d", v)
		}
		if _, err := raw.db.ExecContext(c, "SELECT 1"); err == nil {
			t.Fatal("the old handle is still open")
		}
		s2 := s.(*sqlStore)
		if _, err := s2.db.ExecContext(c, s2.q(`INSERT INTO schema_migrations (version, applied_ms) VALUES (?, ?)`), len(migrations)+1, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(c, dsn); err == nil || !strings.Contains(err.Error(), "newer than this rtcprobe knows") {
			t.Fatalf("a newer schema: err = %v", err)
		}
	})
}

// childEnv makes the test binary a writer that prints each result's ID
// once Put has returned, until it is killed.
const childEnv = "RTCPROBE_STORE_TEST_WRITER"

func TestMain(m *testing.M) {
	if dsn := os.Getenv(childEnv); dsn != "" {
		os.Exit(writer(dsn))
	}
	os.Exit(m.Run())
}

func writer(dsn string) int {
	s, err := Open(context.Background(), dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for i := 0; ; i++ {
		r := stored(time.Now(), "pass", "Chrome", map[string]string{"browser.api": "pass"})
		if err := s.Put(context.Background(), r); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(r.ID)
	}
}

// TestKillDurability: every result whose Put returned in a process that
// is then killed with SIGKILL is there when the store is opened again.
func TestKillDurability(t *testing.T) {
	each(t, func(t *testing.T, dsn string) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+dsn)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		var acked []string
		for len(acked) < 200 && sc.Scan() {
			acked = append(acked, sc.Text())
		}
		// Killed mid-write: the next Put may be half done.
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for sc.Scan() {
			acked = append(acked, sc.Text())
		}
		_ = cmd.Wait()
		if len(acked) < 200 {
			t.Fatalf("the writer stopped after %d results: %s", len(acked), stderr.String())
		}
		s := open(t, dsn)
		for _, id := range acked {
			if _, err := s.Get(ctx(t), id); err != nil {
				t.Fatalf("acknowledged result %s lost after kill -9: %v", id, err)
			}
		}
		t.Logf("%d acknowledged results survived kill -9", len(acked))
	})
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://alice:s3cret@db.example:5432/rtc?sslmode=require&password=x": "postgres://alice:xxxxx@db.example:5432/rtc?…",
		"postgresql://db.example/rtc":                                            "postgresql://db.example/rtc",
		"/var/lib/rtcprobe/results.db":                                           "/var/lib/rtcprobe/results.db",
	} {
		if got := Redact(in); got != want || strings.Contains(got, "s3cret") {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestEach: Each hands over what List returns, in the same order, with
// each row's checks, and stops at fn's error.
func TestEach(t *testing.T) {
	each(t, func(t *testing.T, dsn string) {
		s := open(t, dsn)
		c := ctx(t)
		base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
		for i := range 7 {
			if err := s.Put(c, stored(base.Add(time.Duration(i)*time.Minute), "fail", "Chrome", map[string]string{"browser.ice": "fail", "browser.api": "pass"})); err != nil {
				t.Fatal(err)
			}
		}
		f := Filter{Failing: "browser.ice", WithReport: true, Limit: 5}
		want, err := s.List(c, f)
		if err != nil {
			t.Fatal(err)
		}
		var got []Result
		if err := s.Each(c, f, func(r Result) error { got = append(got, r); return nil }); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids(got)) != fmt.Sprint(ids(want)) {
			t.Fatalf("Each = %v, List = %v", ids(got), ids(want))
		}
		for i := range got {
			if fmt.Sprint(got[i].Checks) != fmt.Sprint(want[i].Checks) || string(got[i].Report) != string(want[i].Report) {
				t.Errorf("row %d: Each %v %s, List %v %s", i, got[i].Checks, got[i].Report, want[i].Checks, want[i].Report)
			}
		}
		stop := errors.New("stop")
		n := 0
		if err := s.Each(c, Filter{}, func(Result) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
			t.Errorf("Each after fn's error: %v, %d calls", err, n)
		}
		if err := s.Writable(c); err != nil || s.ReadOnly() {
			t.Errorf("Writable = %v, ReadOnly = %v", err, s.ReadOnly())
		}
	})
}

// A password may hold '@': no part of it is shown.
func TestRedactPasswordWithAt(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://alice:s3c@ret@db.example:5432/rtc":  "postgres://alice:xxxxx@db.example:5432/rtc",
		"postgresql://alice:@s3cret@db.example/rtc?x=1": "postgresql://alice:xxxxx@db.example/rtc?…",
	} {
		if got := Redact(in); got != want || strings.Contains(got, "ret@") || strings.Contains(got, "s3c") {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
