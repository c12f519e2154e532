package browser

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/probes"
)

// A browser told to trust the embedded server's self-signed certificate
// uses its turns: server: ICE gathers a relay candidate over TLS, and a
// relay-only call with the pion peer goes through it (Chrome is given the
// certificate's key, Firefox the certificate in its profile's database,
// and the server named localhost). The shared browser, not told, does not
// use the same server.
func TestTrustedCertificate(t *testing.T) {
	eachEngine(t, testTrustedCertificate)
}

func testTrustedCertificate(t *testing.T, shared *Browser) {
	srv, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var turns probes.Server
	for _, s := range srv.Servers() {
		if s.URI.Scheme == stun.SchemeTypeTURNS && s.URI.Proto == stun.ProtoTypeTCP {
			turns = s
		}
	}
	target := probes.Target{Server: turns, Transport: probes.TLS, TLS: &tls.Config{RootCAs: srv.CertPool(), MinVersion: tls.VersionTLS12}}
	cfg := Config{Path: shared.Path(), TrustedCerts: []*x509.Certificate{srv.Certificate()}}
	if !cfg.Trusts(srv.CertPool()) && shared.Engine() != Firefox {
		t.Fatal("Trusts is false for the certificate the browser is given")
	}
	b, err := Launch(testCtx(t, 40*time.Second), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	t.Run("ice", func(t *testing.T) {
		m := ICE(testCtx(t, 10*time.Second), b, target, ICEConfig{})
		if m.Err != nil {
			t.Fatal(m.Err)
		}
		if v := metric(t, m, "errors"); v != 0 {
			t.Errorf("errors = %g: %v", v, m.Evidence)
		}
		if v := metric(t, m, "relay"); v < 1 {
			t.Errorf("relay = %g, want a relay candidate over TLS: %v", v, m.Evidence)
		}
		if b.Engine() == Chromium && !hasEvidence(m, "candidate", "via tls") {
			t.Errorf("no relay candidate via tls: %v", m.Evidence)
		}
	})
	t.Run("interop relay-only", func(t *testing.T) {
		relay := target
		m := Interop(testCtx(t, 20*time.Second), b, InteropConfig{Relay: &relay, Duration: time.Second})
		if m.Err != nil {
			t.Fatalf("%v (evidence %v)", m.Err, m.Evidence)
		}
		if v := metric(t, m, "relayed"); v != 1 {
			t.Errorf("relayed = %g: %v", v, m.Evidence)
		}
		for _, name := range []string{"pion_video_frames", "pion_audio_packets", "chrome_frames_decoded", "chrome_audio_packets"} {
			if v := metric(t, m, name); v < 1 {
				t.Errorf("%s = %g: media did not flow", name, v)
			}
		}
		if v := metric(t, m, "dc_lost"); v != 0 {
			t.Errorf("dc_lost = %g", v)
		}
	})
	t.Run("untrusted browser", func(t *testing.T) {
		m := ICE(testCtx(t, 10*time.Second), shared, target, ICEConfig{})
		if shared.Engine() == Firefox {
			// Not told, Firefox is not given the server at all: by IP
			// address it would ignore it.
			if !errors.Is(m.Err, probes.ErrUnsupported) {
				t.Errorf("err = %v, want unsupported: %v", m.Err, m.Evidence)
			}
			return
		}
		if m.Err != nil {
			t.Fatal(m.Err)
		}
		if metric(t, m, "relay") != 0 || metric(t, m, "errors") == 0 {
			t.Errorf("a browser not told to trust the certificate used the server: %v %v", m.Metrics, m.Evidence)
		}
	})
}

// Trusts holds only for exactly the certificates the browser was given.
func TestConfigTrusts(t *testing.T) {
	mine, other := testCA(t), testCA(t)
	cfg := Config{TrustedCerts: []*x509.Certificate{mine.cert}}
	leaf, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer leaf.Close()
	_, err = exec.LookPath(certutilBinary)
	canCertutil := err == nil
	system := func(add ...*x509.Certificate) *x509.CertPool {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		for _, c := range add {
			pool.AddCert(c)
		}
		return pool
	}
	for _, tc := range []struct {
		name  string
		cfg   Config
		roots *x509.CertPool
		want  bool
	}{
		{"the same certificate", cfg, mine.pool, true},
		{"the system's roots and the certificate", cfg, system(mine.cert), true},
		{"the system's roots and another one too", cfg, system(mine.cert, other.cert), false},
		{"another one", cfg, other.pool, false},
		{"no roots", cfg, nil, false},
		{"browser told nothing", Config{}, mine.pool, false},
		{"Firefox, given a CA's certificate, which NSS refuses from a server", Config{Engine: Firefox, TrustedCerts: cfg.TrustedCerts}, mine.pool, false},
		{"Firefox, given a server's own certificate", Config{Engine: Firefox, TrustedCerts: []*x509.Certificate{leaf.Certificate()}}, leaf.CertPool(), canCertutil},
	} {
		if got := tc.cfg.Trusts(tc.roots); got != tc.want {
			t.Errorf("%s: Trusts = %v, want %v", tc.name, got, tc.want)
		}
	}
	var none *Session
	if none.Trusts(mine.pool) {
		t.Error("a nil session trusts a certificate")
	}
	if !NewSession(cfg).Trusts(mine.pool) {
		t.Error("the session does not trust its browser's certificate")
	}
}

type ca struct {
	cert *x509.Certificate
	pool *x509.CertPool
}

// testCA is a throw-away certificate authority and a pool trusting it.
func testCA(t *testing.T) ca {
	t.Helper()
	c, err := netlab.NewCert(time.Now().Add(time.Hour), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(c.CAPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return ca{cert: cert, pool: c.Pool}
}
