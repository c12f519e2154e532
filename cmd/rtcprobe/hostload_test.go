package main

import (
	"encoding/json"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// TestSaturatedMachineIsNamed: `rtcprobe --checks turn.udp` (100 relayed
// packets, a second or two) with a round trip threshold no run can meet,
// while twice as many busy processes as CPUs run beside it (the injected
// truth: a saturated machine). The fail
// becomes a warn whose advice names this machine's CPUs, not the path,
// and the JSON report carries the load as evidence.
func TestSaturatedMachineIsNamed(t *testing.T) {
	testenv.Heavy(t, "busy processes on every CPU")
	cfg := writeConfig(t, "version: 1\nthresholds:\n  turn.udp:\n    fail: \"rtt_p95_ms < 0.000001\"\n")
	for range 2 * runtime.NumCPU() {
		spin := exec.Command("sh", "-c", "while :; do :; done")
		if err := spin.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = spin.Process.Kill(); _ = spin.Wait() })
	}
	// --fail-on warn, as the ci profile has it: a warning that only says
	// the machine was saturated does not fail the run.
	res := rtcprobe(t, "--config", cfg, "--checks", "turn.udp", "--turn-packets", "100", "--fail-on", "warn", "--json", "-")
	var rep struct {
		Checks []struct {
			ID, Status, Error, Advice string
			Evidence                  []struct{ Name, Value string }
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil || len(rep.Checks) != 1 {
		t.Fatalf("exit %d, report %v: %s%s", res.code, err, res.stdout, res.stderr)
	}
	c := rep.Checks[0]
	host := ""
	for _, e := range c.Evidence {
		if e.Name == "host_cpu" {
			host = e.Value
		}
	}
	if c.Status != "warn" || !strings.Contains(c.Advice, "saturated") || !strings.Contains(host, "waited for a CPU") || res.code != exitOK {
		t.Errorf("exit %d, %s %q, advice %q, host_cpu %q: want a warn naming the saturated machine", res.code, c.Status, c.Error, c.Advice, host)
	}
	if !strings.Contains(res.stderr, "do not fail this run") {
		t.Errorf("stderr does not say why the warning does not fail the run: %s", res.stderr)
	}
	if strings.Contains(c.Advice, "firewall") || strings.Contains(c.Advice, "server") {
		t.Errorf("advice blames the path: %q", c.Advice)
	}
}
