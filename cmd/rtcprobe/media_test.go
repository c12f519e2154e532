package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"

	"github.com/rtcprobe/rtcprobe/internal/iceserver"
)

// TestBroadcastZeroConfig: `rtcprobe --checks broadcast` needs nothing
// named: the embedded fan-out serves the publisher and the viewers.
func TestBroadcastZeroConfig(t *testing.T) {
	res := rtcprobe(t, "--json", "-", "--checks", "broadcast", "--viewers", "3", "--media-duration", "1s")
	var rep jsonReport
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("exit %d: %v\n%s%s", res.code, err, res.stdout, res.stderr)
	}
	if res.code != 0 || len(rep.Checks) != 1 || rep.Checks[0].ID != "broadcast.viewers" {
		t.Fatalf("exit %d, checks %+v\n%s", res.code, rep.Checks, res.stderr)
	}
	c := rep.Checks[0]
	if c.Status != "pass" || c.Metrics["viewers_connected"] != 3 || c.Metrics["fps_p50"] < 20 || !strings.HasPrefix(c.Target, "embedded fan-out") {
		t.Errorf("%s %s: %v", c.Target, c.Status, c.Metrics)
	}
}

// TestMediaServerUsageErrors: bad WHIP/WHEP input exits 2 naming the flag
// and never echoing a token or a URL's secret parts.
func TestMediaServerUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--whip", "ftp://127.0.0.1/x"}, "--whip: invalid URI"},
		{[]string{"--whep", "http://user:hunter2@127.0.0.1/x"}, "credentials in the URL are not allowed"},
		{[]string{"--whip", "http://127.0.0.1:99999/x"}, "invalid port"},
		{[]string{"--whip-token", "hunter2"}, "--whip-token (or RTCPROBE_WHIP_TOKEN) without --whip"},
		{[]string{"--whip", "http://127.0.0.1:1/x?token=hunter2", "--viewers", "0"}, `invalid --viewers "0"`},
	} {
		res := rtcprobe(t, tt.args...)
		if res.code != 2 || !strings.Contains(res.stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", tt.args, res.code, res.stderr, tt.want)
		}
		if strings.Contains(res.stdout+res.stderr, "hunter2") {
			t.Errorf("%v: the secret is shown: %s", tt.args, res.stderr)
		}
	}
}

// TestRepeatThroughTheCLI: --repeat writes the v2 report with every
// iteration, and the table shows the pass rates.
func TestRepeatThroughTheCLI(t *testing.T) {
	res := rtcprobe(t, "--json", "-", "--checks", "stun.udp", "--repeat", "3", "--count", "2")
	var rep struct {
		Schema string `json:"schema"`
		Repeat struct {
			Iterations []json.RawMessage `json:"iterations"`
			Checks     []struct {
				PassRate float64 `json:"pass_rate_pct"`
			} `json:"checks"`
		} `json:"repeat"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil || res.code != 0 {
		t.Fatalf("exit %d: %v\n%s%s", res.code, err, res.stdout, res.stderr)
	}
	if rep.Schema != "rtcprobe/v2" || len(rep.Repeat.Iterations) != 3 || len(rep.Repeat.Checks) != 1 || rep.Repeat.Checks[0].PassRate != 100 {
		t.Errorf("report %+v", rep)
	}
	table := rtcprobe(t, "--checks", "stun.udp", "--repeat", "2", "--count", "1")
	for _, want := range []string{"PASS RATE", "100%", "PP", "2 iterations: 0 checks flapped — worst PASS"} {
		if !strings.Contains(table.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, table.stdout)
		}
	}
}

// TestBroadcastRelaysPastCredentialLifetime (bug 4): the fan-out server
// lives as long as the run, so credentials minted once as it started
// expired under a soak longer than their lifetime and the broadcast
// relayed through the TURN server no more. Each fan-out session now gets
// credentials minted as it starts, lasting as long as a run may: every
// iteration of a soak four times the lifetime relays.
func TestBroadcastRelaysPastCredentialLifetime(t *testing.T) {
	const secret = "rest-secret-for-the-fan-out"
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelDisabled
	srv := startServer(t, iceserver.Config{AuthHandler: turn.LongTermTURNRESTAuthHandler(secret, logs.NewLogger("test"))})
	res := rtcprobe(t, "--json", "-", "--checks", "broadcast", "--viewers", "2", "--media-duration", "1s",
		"--turn-secret", secret, "--turn-ttl", "1s", "--duration", "4s", fmt.Sprintf("turn:127.0.0.1:%d", srv.Port()))
	var rep struct {
		Repeat struct {
			Iterations []struct {
				Checks []struct {
					Status  string             `json:"status"`
					Target  string             `json:"target"`
					Error   string             `json:"error"`
					Metrics map[string]float64 `json:"metrics"`
				} `json:"checks"`
			} `json:"iterations"`
		} `json:"repeat"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("exit %d: %v\n%s%s", res.code, err, res.stdout, res.stderr)
	}
	its := rep.Repeat.Iterations
	if res.code != exitOK || len(its) < 2 {
		t.Errorf("exit %d, %d iterations, want 0 and at least 2\n%s", res.code, len(its), res.stderr)
	}
	for i, it := range its {
		for _, c := range it.Checks {
			if c.Status != "pass" || c.Metrics["viewers_connected"] != 2 || !strings.Contains(c.Target, "relayed via turn:") {
				t.Errorf("iteration %d: %s %s (%s): %v", i+1, c.Target, c.Status, c.Error, c.Metrics)
			}
		}
	}
}
