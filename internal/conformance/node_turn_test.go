package conformance

import (
	"fmt"
	"testing"

	"github.com/rtcprobe/rtcprobe/internal/coturn"
)

func TestNodeTURNExplore(t *testing.T) {
	port := coturn.FreePort(t)
	startNode(t, "turn-server.js", fmt.Sprint(port), "u", "p")
	rs := run{uris: []string{fmt.Sprintf("turn:127.0.0.1:%d", port)}, user: "u", password: "p", ids: "turn,firewall", packets: 10}.do(t)
	for _, r := range rs {
		t.Logf("%s %s %s %v\n%s", r.CheckID, r.Target, r.Status, r.Metrics, show(r))
	}
	port2 := startNode(t, "stun-server.js", "new-tid")
	port3 := startNode(t, "stun-server.js", "ok")
	rs = run{uris: []string{fmt.Sprintf("stun:127.0.0.1:%d", port2), fmt.Sprintf("stun:127.0.0.2:%d", port3)}, ids: "stun,firewall,nat"}.do(t)
	for _, r := range rs {
		t.Logf("%s %s %s %v\n%s", r.CheckID, r.Target, r.Status, r.Metrics, show(r))
	}
}
