package probes

import (
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
)

// TestVerifyLikeTLS: the DTLS certificate check matches names and IP SANs
// as crypto/tls does, whatever the DTLS library does on its own.
func TestVerifyLikeTLS(t *testing.T) {
	named, err := netlab.NewCert(time.Now().Add(time.Hour), "turn.example.net")
	if err != nil {
		t.Fatal(err)
	}
	byIP, err := netlab.NewCert(time.Now().Add(time.Hour), "127.0.0.1", "::1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cert *netlab.Cert
		host string
		ok   bool
	}{
		{"IP host, certificate for another name", named, "127.0.0.1", false},
		{"IPv6 host, certificate for another name", named, "::1", false},
		{"name host, certificate for that name", named, "turn.example.net", true},
		{"name host, certificate for another name", named, "turn.example.org", false},
		{"IP host, IP SAN", byIP, "127.0.0.1", true},
		{"IPv6 host, IP SAN", byIP, "::1", true},
		{"IP host, other IP SAN", byIP, "127.0.0.2", false},
	}
	for _, tc := range tests {
		err := verifyLikeTLS(tc.cert.TLS.Certificate, tc.cert.Pool, tc.host)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	if err := verifyLikeTLS(byIP.TLS.Certificate, named.Pool, "127.0.0.1"); err == nil {
		t.Error("a certificate from an untrusted CA was accepted")
	}
}
