package conformance

import (
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
)

// TestBroadcastThroughCoturn runs the broadcast check with a turn: server
// named and no WHIP/WHEP URL: the embedded fan-out relays the publisher
// and every viewer through coturn, and the viewers still get the stream
// whole.
func TestBroadcastThroughCoturn(t *testing.T) {
	ct := coturn.Start(t, coturn.Config{User: "u", Password: "bcast-pass"})
	rep := runBinaryRaw(t, "--json", "-", "--checks", "broadcast", ct.URI("turn", "127.0.0.1", ct.Port), "--user", "u", "--password", "bcast-pass",
		"--viewers", "4", "--media-duration", "2s")
	r := rep.report.Checks[0]
	t.Logf("%s %s: %s %v (%s)", r.ID, r.Target, r.Status, r.Metrics, r.Error)
	if r.ID != "broadcast.viewers" || !strings.Contains(r.Target, "relayed via turn:127.0.0.1") {
		t.Fatalf("result %s %q, want broadcast.viewers relayed via coturn", r.ID, r.Target)
	}
	if r.Status != "pass" || r.Metrics["viewers_connected"] != 4 || r.Metrics["loss_p95_pct"] > 1 {
		t.Errorf("status %s viewers_connected %v loss p95 %v", r.Status, r.Metrics["viewers_connected"], r.Metrics["loss_p95_pct"])
	}
	if !strings.Contains(rep.raw, "relay 127.0.0.1") {
		t.Errorf("no relayed pair in the evidence: the media did not go through coturn")
	}
	if strings.Contains(rep.raw, "bcast-pass") {
		t.Errorf("the report shows the TURN password")
	}
}
