package conformance

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/janus"
)

// TestWHIPJanus publishes to a third-party WHIP server, Janus's VideoRoom
// behind meetecho's simple-whip-server, through the rtcprobe binary: 201
// with Location and ETag, trickle PATCH with If-Match, real media whose
// loss and RTT the server's RTCP reports give, DELETE → 200; a wrong
// token is refused and said so, and the token never appears in the
// report.
func TestWHIPJanus(t *testing.T) {
	j := janus.StartJanus(t, janus.JanusConfig{})
	const token = "s3cret-whip-token"
	ep := j.Endpoint(t, "rtcprobe", token)

	rep := runBinary(t, "--json", "-", "--checks", "whip", "--whip", ep.String(), "--whip-token", token, "--media-duration", "3s")
	if len(rep.Checks) != 1 || rep.Checks[0].ID != "whip.publish" {
		t.Fatalf("checks %+v, want whip.publish", rep.Checks)
	}
	r := rep.Checks[0]
	t.Logf("whip.publish: %s %v (%s)", r.Status, r.Metrics, r.Error)
	if r.Status != "pass" {
		t.Errorf("status %s: %s (%s)", r.Status, r.Error, r.Advice)
	}
	if r.Metrics["packets_sent"] < 200 || r.Metrics["trickle"] != 1 {
		t.Errorf("packets_sent %v trickle %v", r.Metrics["packets_sent"], r.Metrics["trickle"])
	}
	if _, ok := r.Metrics["rtcp_loss_pct"]; !ok || r.Metrics["rtcp_loss_pct"] > 1 {
		t.Errorf("rtcp_loss_pct %v: Janus's receiver reports missing or lossy on a veth", r.Metrics["rtcp_loss_pct"])
	}

	t.Run("wrong token", func(t *testing.T) {
		rep := runBinaryRaw(t, "--json", "-", "--checks", "whip", "--whip", ep.String(), "--whip-token", "not-"+token, "--media-duration", "1s")
		r := rep.report.Checks[0]
		if r.Status != "fail" || !strings.Contains(r.Error, "403") || !strings.Contains(r.Advice, "token") {
			t.Errorf("wrong token: %s %q %q", r.Status, r.Error, r.Advice)
		}
		if strings.Contains(rep.raw, token) {
			t.Errorf("the report shows the token")
		}
	})
}

type rawReport struct {
	report binaryReport
	raw    string // stdout and stderr
}

// runBinaryRaw is runBinary keeping everything the binary printed, for
// tests that look for what must not be there.
func runBinaryRaw(t *testing.T, args ...string) rawReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Stderr = &stderr
	out, _ := cmd.Output()
	var rep rawReport
	if err := json.Unmarshal(out, &rep.report); err != nil || len(rep.report.Checks) == 0 {
		t.Fatalf("rtcprobe: %v\n%s\n%s", err, out, stderr.String())
	}
	rep.raw = string(out) + stderr.String()
	return rep
}
