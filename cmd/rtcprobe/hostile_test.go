package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/sanitize"
	"github.com/rtcprobe/rtcprobe/internal/testkit/hostile"
	"github.com/rtcprobe/rtcprobe/probes"
)

// memoryHeadroom is how much more a run against a hostile server may
// hold at its peak than the same run against healthy servers.
const memoryHeadroom = 64 << 20

// TestHostileServersBoundTheProcess runs the binary against every mode of
// the hostile fixture (and the HTTP ones as the proxy too): the process's
// peak RSS stays within 64 MiB of the same run against healthy servers,
// each check ends by its deadline + 250 ms, nothing is abandoned past its
// deadline (exit 3), and neither a secret nor a control character
// reaches the terminal or the JSON report.
func TestHostileServersBoundTheProcess(t *testing.T) {
	t.Parallel() // waits on its own servers: beside the others of its kind, after the timed tests
	const deadline = time.Second
	emb, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	ws, err := hostile.Start(hostile.Healthy)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	user, pass := emb.Credentials()
	args := func(stunTurn, signaling string, extra ...string) []string {
		return append([]string{"--checks", "stun,turn.udp,turn.tcp,ice.relay,signaling", "--check-timeout", deadline.String(),
			"--signaling", "ws://" + signaling + "/signal?token=S3cret", "stun:" + stunTurn, "turn:" + stunTurn}, extra...)
	}
	healthy := runBounded(t, args(fmt.Sprintf("127.0.0.1:%d", emb.Port()), ws.Addr(), "--user", user, "--password", pass), deadline)
	if healthy.code != 0 {
		t.Fatalf("the healthy run failed (exit %d):\n%s%s", healthy.code, healthy.stdout, healthy.stderr)
	}
	t.Logf("healthy servers: %s, peak RSS %.1f MiB", healthy.took.Round(time.Millisecond), mib(healthy.maxRSS))

	type scenario struct {
		name string
		mode hostile.Mode
		args func(addr string) []string
		wait time.Duration
	}
	var scenarios []scenario
	for _, mode := range hostile.Modes {
		if mode == hostile.DiesMidRelay {
			scenarios = append(scenarios, scenario{string(mode), mode, func(addr string) []string {
				return []string{"--checks", "turn.udp,turn.tcp", "--check-timeout", "5s", "--turn-packets", "200",
					"turn:" + addr, "--user", hostile.Username, "--password", hostile.Password}
			}, 5 * time.Second})
			continue
		}
		scenarios = append(scenarios, scenario{string(mode), mode, func(addr string) []string {
			return args(addr, addr, "--user", hostile.Username, "--password", hostile.Password)
		}, deadline})
		switch mode {
		case hostile.HeaderLine, hostile.HeaderCount, hostile.Flood101, hostile.Dribble, hostile.NoRead, hostile.ControlChars, hostile.Fresh401:
			scenarios = append(scenarios, scenario{string(mode) + " as proxy", mode, func(addr string) []string {
				return []string{"--checks", "stun.tcp,signaling", "--check-timeout", deadline.String(), "--proxy", "http://" + addr,
					"--signaling", "ws://" + addr + "/signal?token=S3cret", "stun:" + addr}
			}, deadline})
		}
	}
	// Each scenario has a server of its own and mostly waits out a
	// deadline: they run at once.
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			srv, err := hostile.Start(sc.mode)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			res := runBounded(t, sc.args(srv.Addr()), sc.wait)
			t.Logf("%s: %s, peak RSS %.1f MiB", sc.name, res.took.Round(time.Millisecond), mib(res.maxRSS))
			if res.code != exitFail {
				t.Errorf("exit %d, want %d (a check fails)\n%s%s", res.code, exitFail, res.stdout, res.stderr)
			}
			if res.maxRSS > healthy.maxRSS+memoryHeadroom {
				t.Errorf("peak RSS %.1f MiB, more than %.0f MiB above the healthy run's %.1f MiB",
					mib(res.maxRSS), mib(memoryHeadroom), mib(healthy.maxRSS))
			}
		})
	}
}

// runBounded runs the binary with a JSON report and checks what every
// run must hold: each check within its deadline + 250 ms, the process
// soon after, no secret and no control character in any output. On a
// machine whose CPUs were saturated meanwhile (measured, as the checks
// measure it) a process may get no CPU for a second at its deadline: the
// slack is a second then, which still catches a check that ignores its
// deadline (it runs into the next one, or the straggler grace).
func runBounded(t *testing.T, args []string, deadline time.Duration) cliResult {
	t.Helper()
	jsonPath := filepath.Join(t.TempDir(), "report.json")
	load := probes.StartHostLoad()
	res := rtcprobeTimed(t, append(args, "--json", jsonPath, "--no-color")...)
	slack := 250 * time.Millisecond
	if h := load.Stop(); h.Known && h.WaitPct >= 60 {
		slack = time.Second
		t.Logf("the CPUs were saturated during the run (%s): %s of slack", h, slack)
	}
	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatalf("no JSON report (exit %d): %v\n%s", res.code, err, res.stderr)
	}
	var rep jsonReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("JSON report: %v", err)
	}
	for _, c := range rep.Checks {
		if took := time.Duration(c.Duration * float64(time.Millisecond)); took > deadline+slack || c.Status == "error" {
			t.Errorf("%s %s: %s after %s (deadline %s): %s", c.ID, c.Target, c.Status, took, deadline, c.Error)
		}
	}
	// The TURN checks of one credential allocate one after another, the
	// rest run at once; starting the process and writing the reports come on top.
	if res.took > 2*deadline+time.Second+slack {
		t.Errorf("the run took %s with a %s check deadline", res.took, deadline)
	}
	for name, out := range map[string]string{"stdout": res.stdout, "stderr": res.stderr, "JSON": string(raw)} {
		if strings.Contains(out, "S3cret") {
			t.Errorf("%s shows a secret:\n%s", name, out)
		}
		if strings.ContainsAny(out, "\x00\x07\x1b") || (name != "JSON" && sanitize.HasControl(out)) {
			t.Errorf("%s carries a raw control character:\n%q", name, out)
		}
	}
	return res
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
