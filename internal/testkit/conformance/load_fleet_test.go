package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

// fleetReport is what the fleet test reads of a load report.
type fleetReport struct {
	Checks []struct {
		ID      string             `json:"id"`
		Status  string             `json:"status"`
		Metrics map[string]float64 `json:"metrics"`
		Series  []probes.Sample    `json:"series"`
		Load    probes.LoadSummary `json:"load"`
	} `json:"checks"`
}

func readFleetReport(t *testing.T, raw []byte) fleetReport {
	t.Helper()
	var r fleetReport
	if err := json.Unmarshal(raw, &r); err != nil || len(r.Checks) != 1 || r.Checks[0].ID != "load.turn" {
		t.Fatalf("not a load report (%v): %s", err, raw)
	}
	return r
}

// TestLoadFleetMerge: the load of one run spread over three generator
// processes, each in a network namespace of its own reaching coturn in a
// fourth over a veth pair (--shard i/3, one --start-at), merged by
// `rtcprobe merge`, against the same ramp run by one process. coturn's
// namespace drops 0.5 % of the packets arriving at its relay ports at
// random, so the per-call loss has a distribution to compare: the same
// calls and packets, percentiles within the histograms' error plus the
// run-to-run variation, the same verdict and calls_held, and the shards'
// steps begun at their slots.
func TestLoadFleetMerge(t *testing.T) {
	netlab.Require(t)
	testenv.Heavy(t, "coturn, four namespaces and about 25 s of relayed calls")
	const (
		shards   = 3
		calls    = 20 // a ramp of 10 then 20
		duration = 4 * time.Second
		lossRate = 0.005
		interval = 20 * time.Millisecond
		serverIP = "10.77.0.1"
	)
	srv := netlab.NewNS(t, "fsrv")
	srv.Run(t, "ip", "addr", "add", serverIP+"/32", "dev", "lo")
	gens := make([]*netlab.NS, shards)
	for i := range gens {
		gens[i] = netlab.NewNS(t, fmt.Sprintf("fgen%d", i))
		netlab.Link(t, srv, fmt.Sprintf("gen%d", i), netlab.CIDR(fmt.Sprintf("10.78.%d.1", i), 24),
			gens[i], "srv", netlab.CIDR(fmt.Sprintf("10.78.%d.2", i), 24))
		gens[i].Run(t, "ip", "route", "add", serverIP+"/32", "via", fmt.Sprintf("10.78.%d.1", i))
	}
	ct := coturn.Start(t, coturn.Config{User: "u", Password: "p", NS: srv, ListenIPs: []string{serverIP}, Args: []string{"--min-port=50000", "--max-port=50999"}})
	srv.IPTables(t, fmt.Sprintf("-A INPUT -p udp --dport %s -m statistic --mode random --probability %g -j DROP", relayPorts, lossRate))
	uri := ct.URI("turn", serverIP, ct.Port)
	args := []string{"load", uri, "--user", "u", "--password", "p", "--calls", fmt.Sprint(calls), "--ramp",
		"--load-duration", duration.String(), "--load-interval", interval.String()}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := func(ns *netlab.NS, extra ...string) (string, error) {
		cmd := ns.Command(ctx, binary, append(slices.Clone(args), extra...)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
			err = nil // a verdict, compared below
		}
		return stderr.String(), err
	}

	// One process, all the calls.
	single := filepath.Join(dir, "single.json")
	if out, err := run(gens[0], "--json", single); err != nil {
		t.Fatalf("single run: %v\n%s", err, out)
	}
	// Three, from the same time on.
	at := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339Nano)
	var (
		wg    sync.WaitGroup
		files = make([]string, shards)
		errs  = make([]error, shards)
	)
	for i := range shards {
		files[i] = filepath.Join(dir, fmt.Sprintf("shard-%d.json", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out string
			if out, errs[i] = run(gens[i], "--shard", fmt.Sprintf("%d/%d", i, shards), "--start-at", at, "--json", files[i]); errs[i] != nil {
				errs[i] = fmt.Errorf("%w\n%s", errs[i], out)
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
	}
	merged, err := exec.CommandContext(ctx, binary, append([]string{"merge", "--format", "json"}, files...)...).Output()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() != 1 {
		t.Fatalf("merge: %v\n%s", err, ee.Stderr)
	}
	raw, err := os.ReadFile(single)
	if err != nil {
		t.Fatal(err)
	}
	s, m := readFleetReport(t, raw).Checks[0], readFleetReport(t, merged).Checks[0]

	// Each shard began step 1 at --start-at and step 2 at its slot after
	// it (probes.LoadStepSlot): its ends come after those plus the
	// sending, and the shards' ends lie close together.
	begin, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		t.Fatal(err)
	}
	starts := []time.Time{begin, begin.Add(probes.LoadStepSlot(10, duration))}
	for k, start := range starts {
		var first, last time.Time
		for i, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			series := readFleetReport(t, raw).Checks[0].Series
			if len(series) != len(starts) {
				t.Fatalf("shard %d: %d steps, want %d", i, len(series), len(starts))
			}
			end := series[k].At
			if end.Before(start.Add(duration)) {
				t.Errorf("shard %d: step %d ended at %s, before its slot %s plus the %s of sending", i, k+1, end, start, duration)
			}
			if first.IsZero() || end.Before(first) {
				first = end
			}
			last = maxTime(last, end)
		}
		t.Logf("step %d: began at %s; the shards ended %s after it, within %s of each other", k+1, start.Format(time.RFC3339Nano),
			first.Sub(start).Round(time.Millisecond), last.Sub(first).Round(time.Millisecond))
		if last.Sub(first) > 2*time.Second {
			t.Errorf("step %d: the shards ended %s apart: not lined up", k+1, last.Sub(first))
		}
	}

	t.Logf("single: %s %v", s.Status, s.Metrics)
	t.Logf("merged: %s %v", m.Status, m.Metrics)
	if s.Status != m.Status || s.Metrics["calls_held"] != m.Metrics["calls_held"] || m.Metrics["calls_held"] != calls {
		t.Errorf("verdict %s calls_held %v merged, %s %v single: want the same (%d: 0.5 %% loss breaks no threshold)",
			m.Status, m.Metrics["calls_held"], s.Status, s.Metrics["calls_held"], calls)
	}
	if len(s.Load.Steps) != 2 || len(m.Load.Steps) != 2 {
		t.Fatalf("%d steps single, %d merged, want 2 each", len(s.Load.Steps), len(m.Load.Steps))
	}
	for k := range s.Load.Steps {
		compareFleetStep(t, k, s.Load.Steps[k], m.Load.Steps[k], duration, interval)
	}
}

// compareFleetStep holds one step of the merged fleet to the same step of
// the single process.
//
//   - calls and calls_ok: equal.
//   - packets_sent: equal. Every call that is set up sends exactly
//     ⌊duration/interval⌋ packets from each end (the sender counts its
//     ticks, not the time), so the rule is calls_ok × 2 × ⌊d/i⌋ in both.
//   - loss (the injected 0.5 %, what the server's figures are about):
//     each percentile within 1 % of the larger (the histograms' error)
//     plus the run-to-run spread of random loss. A call sends 400
//     packets, so it loses about Poisson(2) of them, in steps of 0.25 %:
//     the median call within 0.75 pp (three steps), the 95th (the 10th
//     of 10 calls, the 19th of 20) within 1 pp, the pooled loss (4000 or
//     8000 packets: a standard deviation of 0.08 to 0.11 pp a run, 0.16
//     between two runs, and a busy machine's stragglers) within 0.6 pp.
//   - jitter and allocation medians: within 1 % plus what the machine
//     moves them by. Here three generator processes and coturn share two
//     cores: a reader waiting out another process's time slice adds ms of
//     transit variation the path does not have (the fleet's median call
//     read about 4 ms, the single process's 0.1 ms), so 8 ms for jitter;
//     25 ms for allocations (the fleet sets up in three processes at
//     once, the single run in one). Their 95th and 99th percentiles are one or two
//     calls' worst moments (one retransmitted request adds 250 ms): only
//     logged.
func compareFleetStep(t *testing.T, k int, s, m probes.LoadStep, d, interval time.Duration) {
	t.Helper()
	sm, mm := s.Metrics(), m.Metrics()
	want := float64(s.Totals.CallsOK * 2 * int(d/interval))
	for _, name := range []string{"calls", "calls_ok"} {
		if sm[name] != mm[name] {
			t.Errorf("step %d: %s %v merged, %v single", k+1, name, mm[name], sm[name])
		}
	}
	if sm["calls_ok"] != float64(s.Calls) {
		t.Errorf("step %d: %v of %d calls set up in the single run", k+1, sm["calls_ok"], s.Calls)
	}
	t.Logf("step %d: packets sent %v merged, %v single (rule %v); received %v merged, %v single", k+1, mm["packets_sent"], sm["packets_sent"], want,
		mm["packets_received"], sm["packets_received"])
	if sm["packets_sent"] != want || mm["packets_sent"] != want {
		t.Errorf("step %d: packets_sent %v merged, %v single, want %v both (calls_ok × 2 × ⌊d/i⌋)", k+1, mm["packets_sent"], sm["packets_sent"], want)
	}
	for _, c := range []struct {
		name  string
		slack float64
	}{
		{"loss_pct", 0.6}, {"loss_p50_pct", 0.75}, {"loss_p95_pct", 1},
		{"jitter_p50_ms", 8}, {"alloc_p50_ms", 25},
		{"loss_max_pct", -1}, {"jitter_p95_ms", -1}, {"jitter_max_ms", -1}, {"alloc_p95_ms", -1}, {"alloc_p99_ms", -1},
	} {
		a, b := mm[c.name], sm[c.name]
		if c.slack < 0 {
			t.Logf("step %d: %s merged %v single %v", k+1, c.name, a, b)
			continue
		}
		tol := probes.HistogramError*math.Max(a, b) + c.slack
		t.Logf("step %d: %s merged %v single %v (tolerance %.3f)", k+1, c.name, a, b, tol)
		if math.Abs(a-b) > tol {
			t.Errorf("step %d: %s %v merged, %v single: further apart than %.3f", k+1, c.name, a, b, tol)
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
