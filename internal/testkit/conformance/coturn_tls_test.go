package conformance

import (
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// TestCoturnCertificateForAnotherName: a turns: server reached by IP whose
// certificate names another host fails over DTLS exactly as over TLS: the
// name check holds for IP hosts too (IP SANs).
func TestCoturnCertificateForAnotherName(t *testing.T) {
	testenv.CheckGoroutines(t)
	ct := coturn.Start(t, coturn.Config{User: "u", Password: "p", TLS: true, CertHosts: []string{"turn.example.net"}})
	rs := run{uris: []string{
		ct.URI("turns", "127.0.0.1", ct.TLSPort),
		ct.URI("turns", "127.0.0.1", ct.TLSPort) + "?transport=udp",
	}, user: "u", password: "p", ids: "turn.tls,turn.dtls", ca: ct.CAFile, packets: 5}.do(t)
	for _, id := range []string{"turn.tls", "turn.dtls"} {
		want(t, result(t, rs, id), checks.Fail, []string{"certificate", "127.0.0.1"})
	}
}

// TestCoturnOwnCA: coturn with a certificate from its own CA passes over
// TLS and DTLS when rtcprobe is given that CA with --ca, and fails on the
// certificate without it.
func TestCoturnOwnCA(t *testing.T) {
	ct := coturn.Start(t, coturn.Config{User: "u", Password: "p", TLS: true})
	uris := []string{ct.URI("turns", "127.0.0.1", ct.TLSPort), ct.URI("turns", "127.0.0.1", ct.TLSPort) + "?transport=udp"}
	for _, tc := range []struct {
		name   string
		args   []string
		status string
		words  []string
	}{
		{"--ca", []string{"--ca", ct.CAFile}, "pass", nil},
		{"system roots", nil, "fail", []string{"certificate", "private CA"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--json", "-", "--checks", "turn.tls,turn.dtls", "--turn-packets", "5", "--user", "u", "--password", "p"}, tc.args...)
			rep := runBinary(t, append(args, uris...)...)
			if len(rep.Checks) != 2 {
				t.Fatalf("%d results, want turn.tls and turn.dtls", len(rep.Checks))
			}
			for _, c := range rep.Checks {
				if c.Status != tc.status {
					t.Errorf("%s: %s (%s), want %s", c.ID, c.Status, c.Error, tc.status)
				}
				for _, w := range tc.words {
					if !strings.Contains(c.Error+c.Advice, w) {
						t.Errorf("%s: %q lacks %q", c.ID, c.Error+" "+c.Advice, w)
					}
				}
			}
		})
	}
}
