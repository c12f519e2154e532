package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/report"
)

// TestShardFlagsRefused: a bad --shard or --start-at stops the run before
// anything is probed, naming the flag.
func TestShardFlagsRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"load", "--shard", "3/3"}, `invalid --shard "3/3"`},
		{[]string{"load", "--shard", "0/1001"}, `invalid --shard "0/1001"`},
		{[]string{"load", "--shard", "-1/2"}, `invalid --shard "-1/2"`},
		{[]string{"load", "--shard", "2"}, `invalid --shard "2": want I/N`},
		{[]string{"load", "--start-at", "tomorrow"}, `invalid --start-at "tomorrow": want an RFC 3339 time`},
		// A shard of several without a common start: its steps would not
		// line up, and merge could not tell its run from another's.
		{[]string{"load", "turn:127.0.0.1:9", "--user", "u", "--password", "p", "--shard", "0/3"}, "--shard 0/3 needs --start-at"},
		{[]string{"load", "--start-at", time.Now().Add(61 * time.Minute).UTC().Format(time.RFC3339)}, "more than 1h ahead"},
	} {
		res := rtcprobe(t, tc.args...)
		if res.code != exitUsage || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming %q", tc.args, res.code, res.stderr, tc.want)
		}
	}
}

// shardRun is one `rtcprobe load` of a test's fleet.
type shardRun struct {
	server  *iceserver.Server
	shard   string
	startAt time.Time
	calls   string
	file    string
	stderr  string
}

// runShards runs the loads at once, each writing its JSON report.
func runShards(t *testing.T, runs []*shardRun) {
	t.Helper()
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user, pass := r.server.Credentials()
			res := rtcprobe(t, "load", fmt.Sprintf("turn:127.0.0.1:%d", r.server.Port()), "--user", user, "--password", pass,
				"--calls", r.calls, "--load-duration", "1s", "--shard", r.shard, "--start-at", r.startAt.UTC().Format(time.RFC3339Nano), "--json", r.file)
			r.stderr = res.stderr
			if res.code != exitOK {
				t.Errorf("shard %s: exit %d: %s", r.shard, res.code, res.stderr)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// TestMergeShards: the reports of a run's two shards merge into one with
// the fleet's calls, in every format; what is not one run's shards, or
// not a load report, or not a report at all, is refused with exit 2
// naming the file and why.
func TestMergeShards(t *testing.T) {
	dir := t.TempDir()
	srv, other := startServer(t, iceserver.Config{}), startServer(t, iceserver.Config{})
	at := time.Now().Add(2 * time.Second)
	past := time.Now().Add(-time.Minute)
	f := func(name string) string { return filepath.Join(dir, name) }
	shard0 := &shardRun{server: srv, shard: "0/2", startAt: at, calls: "3", file: f("s0.json")}
	shard1 := &shardRun{server: srv, shard: "1/2", startAt: at, calls: "3", file: f("s1.json")}
	otherRun := &shardRun{server: srv, shard: "1/2", startAt: past, calls: "3", file: f("other-run.json")}
	otherServer := &shardRun{server: other, shard: "1/2", startAt: at, calls: "3", file: f("other-server.json")}
	runShards(t, []*shardRun{shard0, shard1, otherRun, otherServer})
	if !strings.Contains(shard0.stderr, "waiting") || !strings.Contains(otherRun.stderr, "has passed: starting the load at once") {
		t.Errorf("stderr of a future and a past --start-at: %q, %q", shard0.stderr, otherRun.stderr)
	}

	res := rtcprobe(t, "merge", shard0.file, shard1.file, "--format", "json")
	if res.code != exitOK {
		t.Fatalf("merge: exit %d: %s", res.code, res.stderr)
	}
	validateReport(t, []byte(res.stdout))
	var rep struct {
		Checks []struct {
			ID      string
			Status  string
			Metrics map[string]float64
			Load    struct{ Run struct{ Merged, Shards int } }
		}
	}
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil || len(rep.Checks) != 1 {
		t.Fatalf("merged report: %v %s", err, res.stdout)
	}
	c := rep.Checks[0]
	if c.ID != "load.turn" || c.Status != "pass" || c.Metrics["calls"] != 3 || c.Metrics["calls_ok"] != 3 || c.Load.Run.Merged != 2 {
		t.Errorf("merged: %s %s %v merged %d, want load.turn pass with the 3 calls of both shards", c.ID, c.Status, c.Metrics, c.Load.Run.Merged)
	}
	for _, format := range []string{"table", "junit", "html", "markdown"} {
		out := f("merged." + format)
		if res := rtcprobe(t, "merge", "--format", format, "-o", out, shard1.file, shard0.file); res.code != exitOK {
			t.Errorf("--format %s: exit %d: %s", format, res.code, res.stderr)
		} else if b, _ := os.ReadFile(out); !strings.Contains(string(b), "load.turn") {
			t.Errorf("--format %s wrote %q", format, b)
		}
	}

	// The refusals.
	garbage, huge, notLoad, edited := f("garbage.json"), f("huge.json"), f("stun.json"), f("edited.json")
	if err := os.WriteFile(garbage, []byte("{\"schema\": \"rtcprobe/v1\", "), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(huge, nil, 0o600); err != nil || os.Truncate(huge, report.MaxJSONBytes+1) != nil {
		t.Fatal("huge file")
	}
	user, pass := srv.Credentials()
	if res := rtcprobe(t, "--checks", "turn.udp", fmt.Sprintf("turn:127.0.0.1:%d", srv.Port()), "--user", user, "--password", pass, "--json", notLoad); res.code != exitOK {
		t.Fatalf("turn.udp run: exit %d: %s", res.code, res.stderr)
	}
	editReport(t, shard1.file, edited, func(load map[string]any) {
		load["steps"].([]any)[0].(map[string]any)["calls"] = 12
	})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{shard0.file}, "missing shard 1/2"},
		{[]string{shard0.file, shard0.file}, "s0.json: shard 0/2 given twice"},
		{[]string{shard0.file, otherRun.file}, "other-run.json: another run: start_at"},
		{[]string{shard0.file, otherServer.file}, "other-server.json: another server"},
		{[]string{shard0.file, edited}, "edited.json: step 1 is of 12 calls, the first report's of 3"},
		{[]string{shard0.file, notLoad}, "stun.json: not a report of rtcprobe load"},
		{[]string{shard0.file, garbage}, "garbage.json: not an rtcprobe JSON report"},
		{[]string{shard0.file, huge}, "huge.json: 16777217 bytes, more than a report's"},
		{[]string{shard0.file, dir}, "not a regular file"},
		{[]string{shard0.file, f("missing.json")}, "missing.json: no such file"},
		{[]string{}, "name the shards' JSON reports"},
		{[]string{shard0.file, shard1.file, "--format", "yaml"}, `invalid --format "yaml"`},
	} {
		res := rtcprobe(t, append([]string{"merge"}, tc.args...)...)
		if res.code != exitUsage || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("merge %v: exit %d, stderr %q; want exit 2 naming %q", tc.args, res.code, res.stderr, tc.want)
		}
	}
}

// editReport writes a copy of a load report with its load data changed.
func editReport(t *testing.T, from, to string, edit func(load map[string]any)) {
	t.Helper()
	raw, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(m["checks"].([]any)[0].(map[string]any)["load"].(map[string]any))
	if raw, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}
