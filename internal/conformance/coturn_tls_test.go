package conformance

import (
	"testing"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/internal/coturn"
	"github.com/rtcprobe/rtcprobe/internal/testenv"
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
	}, user: "u", password: "p", ids: "turn.tls,turn.dtls", tls: ct.TLSConfig(), packets: 5}.do(t)
	for _, id := range []string{"turn.tls", "turn.dtls"} {
		want(t, result(t, rs, id), checks.Fail, []string{"certificate", "127.0.0.1"})
	}
}

// TestCoturnOwnCA: the same server with a certificate for its address
// passes over TLS and DTLS once its CA is trusted, and fails without it.
func TestCoturnOwnCA(t *testing.T) {
	testenv.CheckGoroutines(t)
	ct := coturn.Start(t, coturn.Config{User: "u", Password: "p", TLS: true})
	uris := []string{ct.URI("turns", "127.0.0.1", ct.TLSPort), ct.URI("turns", "127.0.0.1", ct.TLSPort) + "?transport=udp"}
	rs := run{uris: uris, user: "u", password: "p", ids: "turn.tls,turn.dtls", tls: ct.TLSConfig(), packets: 5}.do(t)
	for _, id := range []string{"turn.tls", "turn.dtls"} {
		want(t, result(t, rs, id), checks.Pass, nil)
	}
	rs = run{uris: uris, user: "u", password: "p", ids: "turn.tls,turn.dtls", packets: 5}.do(t)
	for _, id := range []string{"turn.tls", "turn.dtls"} {
		want(t, result(t, rs, id), checks.Fail, []string{"certificate", "--ca"})
	}
}
