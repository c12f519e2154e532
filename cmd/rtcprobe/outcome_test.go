package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/internal/engine"
	"github.com/rtcprobe/rtcprobe/internal/iceserver"
)

// TestAllSkipIsNoSuccess: a run in which every check skipped tested
// nothing, and both front ends say so alike. nat.behavior skips against
// a STUN server that sends no OTHER-ADDRESS (the embedded server's own
// port): the CLI exits 4 and says why, and the exporter's probe of the
// same server with a module selecting the same check answers
// probe_success 0.
func TestAllSkipIsNoSuccess(t *testing.T) {
	srv := startServer(t, iceserver.Config{})
	target := fmt.Sprintf("stun:127.0.0.1:%d", srv.Port())

	res := rtcprobe(t, "--checks", "nat.behavior", "--json", "-", target)
	if res.code != exitNothing || !strings.Contains(res.stdout, `"status": "skip"`) || !strings.Contains(res.stderr, "every check skipped") {
		t.Errorf("CLI: exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", res.code, exitNothing, res.stdout, res.stderr)
	}

	cfg := filepath.Join(t.TempDir(), "rtcprobe.yml")
	module := "modules:\n  nat:\n    checks: [nat.behavior]\n    allowed_targets: [\"127.0.0.1\"]\n"
	if err := os.WriteFile(cfg, []byte(module), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, nil, "--config", cfg)
	code, body := p.get(t, probePath("nat", target))
	if code != 200 || !strings.Contains(body, "\nprobe_success 0\n") || !strings.Contains(body, `status="skip",transport="udp"} 1`) {
		t.Errorf("exporter: %d\n%s", code, body)
	}
}

// TestOutcomeExitCodes: each outcome of a run has its own exit code, so a
// CI job can tell the network's failure (1) from rtcprobe's own (3) and
// from a run that tested nothing (4). No check the CLI runs errors unless
// rtcprobe has a bug, so the rule is held here, where it is written.
func TestOutcomeExitCodes(t *testing.T) {
	// The numbers themselves, as the usage text and the README give them:
	// a CI job compares against these, not against our constants.
	for o, want := range map[engine.Outcome]int{
		engine.Passed:         0,
		engine.Failed:         1,
		engine.Errored:        3,
		engine.NothingChecked: 4,
	} {
		if got := outcomeExitCode(o); got != want {
			t.Errorf("%s exits %d, want %d", o, got, want)
		}
	}
}
