package conformance

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
)

// TestLoadCoturn runs `rtcprobe load` against coturn: every call is set
// up, the relayed packet rate is what the calls send, nothing is lost on
// loopback, and the report carries the allocation latency percentiles and
// the generator's CPU.
func TestLoadCoturn(t *testing.T) {
	const password = "load-pass-9f3e"
	ct := coturn.Start(t, coturn.Config{User: "u", Password: password})
	rep := runBinaryRaw(t, "load", ct.URI("turn", "127.0.0.1", ct.Port), "--user", "u", "--password", password,
		"--calls", "20", "--load-duration", "2s", "--json", "-")
	r := rep.report.Checks[0]
	m := r.Metrics
	t.Logf("load.turn: %s %v (%s)", r.Status, m, r.Error)
	if r.ID != "load.turn" || len(rep.report.Checks) != 1 {
		t.Fatalf("checks %+v, want load.turn alone", rep.report.Checks)
	}
	if r.Status != "pass" || m["calls_ok"] != 20 || m["alloc_success_pct"] != 100 || m["loss_pct"] > 1 {
		t.Errorf("status %s calls_ok %v alloc_success %v loss %v", r.Status, m["calls_ok"], m["alloc_success_pct"], m["loss_pct"])
	}
	// 20 calls × 2 directions × 50 packets/s.
	if pps := m["relayed_pps"]; math.Abs(pps-2000) > 200 {
		t.Errorf("relayed_pps %v, want about 2000", pps)
	}
	for _, k := range []string{"alloc_p50_ms", "alloc_p95_ms", "alloc_p99_ms", "jitter_p95_ms", "generator_cpu_pct", "cores"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %s", k)
		}
	}
	if strings.Contains(rep.raw, password) {
		t.Errorf("the report shows the password")
	}
}

// TestLoadLoss runs the load through coturn in a namespace of the test's
// own whose iptables drops 5 % of the packets arriving at the relay ports
// (one lossy hop per direction): the per-call loss rtcprobe reports must
// be within 2 percentage points of it.
func TestLoadLoss(t *testing.T) {
	netlab.Require(t)
	const rate = 5.0
	ns := netlab.NewNS(t, "lload")
	ns.Run(t, "sysctl", "-qw", "net.ipv4.ip_local_port_range="+clientPorts)
	ct := coturn.Start(t, coturn.Config{User: "u", Password: "p", NS: ns, Args: []string{"--min-port=50000", "--max-port=50999"}})
	ns.IPTables(t, fmt.Sprintf("-A INPUT -p udp --dport %s -m statistic --mode random --probability %g -j DROP", relayPorts, rate/100))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep := parseReport(t, ns.Command(ctx, binary, "load", ct.URI("turn", "127.0.0.1", ct.Port), "--user", "u", "--password", "p",
		"--calls", "20", "--load-duration", "4s", "--json", "-"))
	r := rep.Checks[0]
	m := r.Metrics
	t.Logf("injected %g%%: loss %v%% (per call p50 %v, p95 %v, max %v), %v packets; status %s", rate, m["loss_pct"], m["loss_p50_pct"], m["loss_p95_pct"], m["loss_max_pct"], m["packets_sent"], r.Status)
	// Allocations go through the lossy namespace too (their requests are
	// retransmitted), so all calls must still be set up.
	if m["calls_ok"] != 20 {
		t.Errorf("calls_ok %v, want 20", m["calls_ok"])
	}
	if d := math.Abs(m["loss_pct"] - rate); d > 2 {
		t.Errorf("loss %v%% is %.2f pp off the injected %g%%", m["loss_pct"], d, rate)
	}
	if d := math.Abs(m["loss_p50_pct"] - rate); d > 2 {
		t.Errorf("the median call's loss %v%% is %.2f pp off the injected %g%%", m["loss_p50_pct"], d, rate)
	}
	if r.Status == "pass" {
		t.Errorf("5%% loss passed")
	}
}

// uclientRun is turnutils_uclient's summary of a run.
type uclientRun struct {
	sent, received int
	lossPct        float64
	transmitSecs   float64
}

// runUclient runs coturn's own load client: m clients paired
// client-to-client (-y), no RTCP allocations (-c), n messages of size
// bytes each every interval.
func runUclient(ctx context.Context, cmd func(ctx context.Context, name string, args ...string) *exec.Cmd, bin string, port, m, n, size int, interval time.Duration) (uclientRun, error) {
	out, err := cmd(ctx, bin, "-y", "-c", "-m", strconv.Itoa(m), "-n", strconv.Itoa(n), "-l", strconv.Itoa(size),
		"-z", strconv.Itoa(int(interval/time.Millisecond)), "-u", "u", "-w", "p", "-p", strconv.Itoa(port), "-e", "127.0.0.1", "127.0.0.1").CombinedOutput()
	var r uclientRun
	loss := parseUclient(out, err)
	if loss.err != nil {
		return r, loss.err
	}
	r.sent, r.lossPct = loss.msgs, loss.pct
	if mt := uclientTime.FindSubmatch(out); mt != nil {
		r.transmitSecs, _ = strconv.ParseFloat(string(mt[1]), 64)
	}
	if mr := uclientRecv.FindAllSubmatch(out, -1); len(mr) > 0 {
		r.received, _ = strconv.Atoi(string(mr[len(mr)-1][1]))
	}
	return r, nil
}

var (
	uclientTime = regexp.MustCompile(`Total transmit time is (\d+)`)
	uclientRecv = regexp.MustCompile(`tot_recv_msgs=(\d+)`)
)
