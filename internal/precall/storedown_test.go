package precall

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/store"
	"github.com/rtcprobe/rtcprobe/internal/testkit/pgtest"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/report"
)

// immutable sets or clears the immutable attribute of files (chattr): a
// file root cannot write either, also through descriptors already open.
func immutable(t *testing.T, on bool, paths ...string) {
	t.Helper()
	flag := "-i"
	if on {
		flag = "+i"
	}
	if out, err := exec.Command("chattr", append([]string{flag}, paths...)...).CombinedOutput(); err != nil {
		testenv.Unavailable(t, "chattr %s: %v %s (needs root and a filesystem with the immutable attribute)", flag, err, out)
	}
}

// waitReady polls /-/ready until it answers want.
func waitReady(t *testing.T, f *fixture, want int) response {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := f.do(t, "GET", "-/ready", nil)
		if r.code == want {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("/-/ready = %d %q, want %d", r.code, r.body, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// storeDown checks a store that cannot write, then recovers: the post
// gets 503 with Retry-After naming the problem (no path, no DSN), the
// token survives, /-/ready is 503; once recovered, /-/ready is 200 and
// the same token's retry stores the result, which the link then shows.
func storeDown(t *testing.T, f *fixture, problem string, secrets []string, down, up func()) {
	s := f.session(t)
	body := goodPost(t, s)
	waitReady(t, f, http.StatusOK)
	down()
	r := f.do(t, "POST", "api/precall/result", bytes.NewReader(body), tokenHeader(s))
	if r.code != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "the results database is "+problem) {
		t.Fatalf("a post while the store is down = %d %v %q, want 503 with Retry-After naming %q", r.code, r.header, r.body, problem)
	}
	ready := waitReady(t, f, http.StatusServiceUnavailable)
	for _, secret := range secrets {
		if strings.Contains(r.body, secret) || strings.Contains(ready.body, secret) {
			t.Errorf("an answer names %q: %q / %q", secret, r.body, ready.body)
		}
	}
	// A retry while it is still down is refused the same way.
	if r := f.do(t, "POST", "api/precall/result", bytes.NewReader(body), tokenHeader(s)); r.code != http.StatusServiceUnavailable {
		t.Fatalf("a retry while down = %d %q", r.code, r.body)
	}
	up()
	waitReady(t, f, http.StatusOK)
	r = f.do(t, "POST", "api/precall/result", bytes.NewReader(body), tokenHeader(s))
	if r.code != http.StatusCreated {
		t.Fatalf("the retry once the store is back = %d %q, want 201", r.code, r.body)
	}
	if r := f.do(t, "POST", "api/precall/result", bytes.NewReader(body), tokenHeader(s)); r.code != http.StatusConflict {
		t.Errorf("the token after its result was stored = %d, want 409", r.code)
	}
	rows, err := f.store.List(context.Background(), store.Filter{})
	if err != nil || len(rows) != 1 {
		t.Fatalf("%d results stored, want 1 (%v)", len(rows), err)
	}
	if r := f.do(t, "GET", "r/"+rows[0].ID, nil); r.code != http.StatusOK {
		t.Errorf("the stored report's link = %d", r.code)
	}
}

// TestStoreNotWritableSQLite: the SQLite file and its WAL made immutable
// while the server runs (root cannot write them either).
func TestStoreNotWritableSQLite(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	dsn := filepath.Join(dir, "results.db")
	files := []string{dsn, dsn + "-wal"}
	t.Cleanup(func() { _ = exec.Command("chattr", "-i", dsn, dsn+"-wal", dir).Run() })
	f := startFixture(t, fixtureConfig{dsn: dsn})
	storeDown(t, f, "not writable", []string{dir}, func() { immutable(t, true, files...) }, func() { immutable(t, false, files...) })
}

// TestStoreDownPostgres: PostgreSQL stopped while the server runs, then
// started again.
func TestStoreDownPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	f := startFixture(t, fixtureConfig{dsn: pg.DSN()})
	storeDown(t, f, "unreachable", []string{"postgres://", "127.0.0.1:"}, func() { pg.Stop(t) }, func() { pg.Restart(t) })
}

// TestReadOnlySQLiteServesReads: a SQLite file (and its directory) that
// cannot be written opens read-only: the admin list, exports and both
// report views are served; a result is refused with 503 naming why, and
// /-/ready says so.
func TestReadOnlySQLiteServesReads(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	dsn := filepath.Join(dir, "results.db")
	t.Cleanup(func() { _ = exec.Command("chattr", "-i", dsn, dir).Run() })
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, report.Report{Version: "test", StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	id := rand.Text()
	if err := st.Put(ctx, store.Result{ID: id, Created: time.Now(), Verdict: "pass", Browser: "Firefox 153.0", OS: "Linux", Client: "192.0.2.0/24", Report: buf.Bytes()}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	immutable(t, true, dsn, dir)
	f := startFixture(t, fixtureConfig{dsn: dsn})
	if !f.store.ReadOnly() {
		t.Fatal("the store did not open read-only")
	}
	for path, want := range map[string]string{"api/v1/results": id, "api/v1/results/" + id: "rtcprobe/v1", "admin": id, "admin/results/" + id: "rtcprobe report",
		"admin/export?format=json": id, "admin/export?format=csv": id} {
		if r := f.do(t, "GET", path, nil, admin()); r.code != http.StatusOK || !strings.Contains(r.body, want) {
			t.Errorf("GET /%s from a read-only store = %d %.200q, want 200 with %q", path, r.code, r.body, want)
		}
	}
	if r := f.do(t, "GET", "r/"+id, nil); r.code != http.StatusOK {
		t.Errorf("the user's report from a read-only store = %d", r.code)
	}
	s := f.session(t)
	r := f.do(t, "POST", "api/precall/result", bytes.NewReader(goodPost(t, s)), tokenHeader(s))
	if r.code != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "read-only") || strings.Contains(r.body, dir) {
		t.Errorf("a post to a read-only store = %d %v %q, want 503 naming read-only", r.code, r.header, r.body)
	}
	if r := waitReady(t, f, http.StatusServiceUnavailable); !strings.Contains(r.body, "read-only") {
		t.Errorf("/-/ready = %q, want it to name read-only", r.body)
	}
}
