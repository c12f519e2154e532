package conformance

import (
	"testing"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// TestCoturnQuotaRepeat: a run leaves the server as it found it. Against
// a user quota of 2, exactly what the relay test needs, every iteration
// of --repeat 3 passes: each allocation rtcprobe made is released,
// including the IPv6 relay probe coturn refuses over UDP (it charges the
// user for the refused request until the session ends).
func TestCoturnQuotaRepeat(t *testing.T) {
	testenv.Heavy(t, "three runs against coturn")
	ct := coturn.Start(t, coturn.Config{User: "u", Password: "p", UserQuota: 2})
	its := run{uris: []string{
		ct.URI("turn", ct.Host, ct.Port) + "?transport=udp",
		ct.URI("turn", ct.Host, ct.Port) + "?transport=tcp",
	}, user: "u", password: "p", ids: "turn.udp,turn.tcp", packets: 10}.iterations(t, 3)
	for i, rs := range its {
		for _, id := range []string{"turn.udp", "turn.tcp"} {
			r := result(t, rs, id)
			if r.Status == checks.Warn && onlyLatency(r) {
				continue // coturn over TCP now and then answers late on loopback
			}
			if r.Status != checks.Pass {
				t.Errorf("iteration %d: %s %s\n%s", i+1, id, r.Status, show(r))
			}
			if id == "turn.udp" && evidence(r, "relay_ipv6") == "" {
				t.Errorf("iteration %d: turn.udp did not ask for an IPv6 relay\n%s", i+1, show(r))
			}
		}
	}
}
