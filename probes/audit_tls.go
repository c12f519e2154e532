package probes

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// TLSAudit is what a turns: server's TLS listener accepts: which protocol
// versions, which weak cipher suites, and its certificate.
type TLSAudit struct {
	// Versions are the versions offered alone, each with whether the
	// server completed a handshake with it.
	Versions []TLSOffer
	// Weak are the weak suites offered alone (3DES, RC4) the server
	// took; StaticRSA is one with RSA key exchange it took (no forward
	// secrecy), empty when it took none.
	Weak      []string
	StaticRSA string
	// Cert is the certificate the server showed (nil: no handshake
	// completed); CertErr why it does not verify against the trust
	// roots and the name in the URI.
	Cert    *x509.Certificate
	CertErr error
	// Err is set when no handshake at all completed.
	Err error
}

// TLSOffer is one version offered alone and the server's answer.
type TLSOffer struct {
	Version  uint16
	Accepted bool
	// Refusal is what the server did instead, in words.
	Refusal string
}

// weakSuites are suites no server should take: 3DES (64-bit blocks,
// Sweet32) and RC4 (RFC 7465 prohibits it).
var weakSuites = []uint16{
	tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
	tls.TLS_RSA_WITH_RC4_128_SHA, tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA, tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA,
}

// staticRSASuites exchange keys by RSA encryption: a recorded session is
// readable by whoever later gets the server's key.
var staticRSASuites = []uint16{
	tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
}

// AuditTLS offers t's TLS listener each protocol version alone (TLS 1.0
// and 1.1 on purpose: a client can still ask for them), then only weak
// suites, then only static RSA key exchange, and checks the certificate
// against t's trust roots and the URI's host. Each offer is one
// handshake, closed at once; nothing else is sent.
func AuditTLS(ctx context.Context, t Target) TLSAudit {
	var a TLSAudit
	all := append(suiteIDs(tls.CipherSuites()), suiteIDs(tls.InsecureCipherSuites())...)
	versions := []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13}
	// At once: a server that refuses a version may say nothing until the
	// wait ends (coturn with no-tlsv1 does).
	type offered struct {
		st  tls.ConnectionState
		err error
	}
	results := make([]offered, len(versions))
	var wg sync.WaitGroup
	for i, v := range versions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := offerTLS(ctx, t, v, v, all)
			results[i] = offered{st, err}
		}()
	}
	wg.Wait()
	for i, v := range versions {
		st, err := results[i].st, results[i].err
		o := TLSOffer{Version: v, Accepted: err == nil}
		if err != nil {
			o.Refusal = tlsRefusal(err)
		} else if a.Cert == nil && len(st.PeerCertificates) > 0 {
			a.Cert = st.PeerCertificates[0]
			raw := make([][]byte, len(st.PeerCertificates))
			for i, c := range st.PeerCertificates {
				raw[i] = c.Raw
			}
			var roots *x509.CertPool
			if t.TLS != nil {
				roots = t.TLS.RootCAs
			}
			a.CertErr = verifyLikeTLS(raw, roots, t.Server.URI.Host)
		}
		a.Versions = append(a.Versions, o)
	}
	if a.Cert == nil {
		a.Err = fmt.Errorf("no TLS handshake with %s completed: %s", t.Addr(), a.Versions[len(a.Versions)-1].Refusal)
		return a
	}
	for _, s := range weakSuites {
		if st, err := offerTLS(ctx, t, tls.VersionTLS10, tls.VersionTLS12, []uint16{s}); err == nil {
			a.Weak = append(a.Weak, tls.CipherSuiteName(st.CipherSuite))
		}
	}
	if st, err := offerTLS(ctx, t, tls.VersionTLS10, tls.VersionTLS12, staticRSASuites); err == nil {
		a.StaticRSA = tls.CipherSuiteName(st.CipherSuite)
	}
	return a
}

// tlsWait bounds one handshake.
const tlsWait = 2 * time.Second

// offerTLS makes one handshake offering versions lo..hi and suites (for
// TLS 1.2 and below; Go offers its own for 1.3), verifying nothing: what
// the server accepts is the question, the certificate is judged apart.
func offerTLS(ctx context.Context, t Target, lo, hi uint16, suites []uint16) (tls.ConnectionState, error) {
	hctx, cancel := context.WithTimeout(ctx, tlsWait)
	defer cancel()
	plain := t
	plain.Transport = TCP
	conn, err := dial(hctx, plain)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	cfg := &tls.Config{
		ServerName:         t.Server.URI.Host,
		InsecureSkipVerify: true, //nolint:gosec // the audit reads what the server accepts; AuditTLS verifies the certificate itself
		MinVersion:         lo, MaxVersion: hi, CipherSuites: suites,
	}
	if t.TLS != nil && t.TLS.ServerName != "" {
		cfg.ServerName = t.TLS.ServerName
	}
	if net.ParseIP(cfg.ServerName) != nil {
		cfg.ServerName = "" // no SNI for an address (RFC 6066 §3)
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(hctx); err != nil {
		return tls.ConnectionState{}, err
	}
	return tc.ConnectionState(), nil
}

func suiteIDs(cs []*tls.CipherSuite) []uint16 {
	out := make([]uint16, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// tlsRefusal says how a server refused an offer.
func tlsRefusal(err error) string {
	var alert tls.AlertError
	switch {
	case errors.As(err, &alert):
		return "refused with alert " + alert.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer in %s: not accepted", tlsWait)
	}
	return fromNetwork(err.Error())
}
