package conformance

import (
	"testing"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// TestCoturnQuotaLease: the TURN checks of one credential over UDP, TCP,
// TLS and DTLS, run together against a user quota of 2, exactly what one
// relay test needs. They start side by side and lend the quota until
// their first authenticated Allocate, but never hold allocations at once:
// none is refused with 486 (quota_held), all pass.
func TestCoturnQuotaLease(t *testing.T) {
	testenv.Heavy(t, "four TURN checks against coturn")
	ct := coturn.Start(t, coturn.Config{User: "u", Password: "p", UserQuota: 2, TLS: true})
	ids := []string{"turn.udp", "turn.tcp", "turn.tls", "turn.dtls"}
	rs := run{uris: []string{
		ct.URI("turn", ct.Host, ct.Port) + "?transport=udp",
		ct.URI("turn", ct.Host, ct.Port) + "?transport=tcp",
		ct.URI("turns", ct.Host, ct.TLSPort),
		ct.URI("turns", ct.Host, ct.TLSPort) + "?transport=udp",
	}, user: "u", password: "p", ids: "turn.udp,turn.tcp,turn.tls,turn.dtls", ca: ct.CAFile, packets: 10}.do(t)
	for _, id := range ids {
		r := result(t, rs, id)
		if r.Metrics["quota_held"] != 0 || r.Metrics["capacity_held"] != 0 {
			t.Errorf("%s: refused a second allocation: rtcprobe exhausted the quota itself\n%s", id, show(r))
			continue
		}
		if r.Status == checks.Warn && onlyLatency(r) {
			continue // coturn over TCP now and then answers late on loopback
		}
		if r.Status != checks.Pass {
			t.Errorf("%s %s\n%s", id, r.Status, show(r))
		}
	}
}
