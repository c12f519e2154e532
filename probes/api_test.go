package probes_test

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

// A pion peer reaches a turns: server through TURNDialer with the roots
// the run trusts; pion's own TLS client, which knows only the system's
// roots, cannot use the embedded server's self-signed certificate, and
// the dialer does not accept it without those roots either.
func TestTURNDialerTrustsTheRunsRoots(t *testing.T) {
	testenv.CheckGoroutines(t)
	srv := startEmbedded(t)
	var turns probes.Server
	for _, s := range srv.Servers() {
		if s.URI.Scheme == stun.SchemeTypeTURNS && s.URI.Proto == stun.ProtoTypeTCP {
			turns = s
		}
	}
	trusted := &tls.Config{RootCAs: srv.CertPool(), MinVersion: tls.VersionTLS12}
	for _, tc := range []struct {
		name      string
		dialer    func(ctx context.Context) probes.Dialer
		wantRelay bool
	}{
		{"run's roots", func(ctx context.Context) probes.Dialer {
			return probes.TURNDialer(ctx, probes.Target{Server: turns, Transport: probes.TLS, TLS: trusted})
		}, true},
		{"pion's own TLS", func(context.Context) probes.Dialer { return nil }, false},
		{"system roots", func(ctx context.Context) probes.Dialer {
			return probes.TURNDialer(ctx, probes.Target{Server: turns, Transport: probes.TLS})
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			api, err := probes.NewAPI(probes.APIConfig{Relay: true, Loopback: true, TURNDialer: tc.dialer(ctx)})
			if err != nil {
				t.Fatal(err)
			}
			pc, err := api.NewPeerConnection(webrtc.Configuration{ICETransportPolicy: webrtc.ICETransportPolicyRelay,
				ICEServers: []webrtc.ICEServer{probes.ICEServer(turns, probes.TLS)}})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = pc.Close() }()
			if _, err := pc.CreateDataChannel("x", nil); err != nil {
				t.Fatal(err)
			}
			offer, err := pc.CreateOffer(nil)
			if err != nil {
				t.Fatal(err)
			}
			gathered := webrtc.GatheringCompletePromise(pc)
			if err := pc.SetLocalDescription(offer); err != nil {
				t.Fatal(err)
			}
			select {
			case <-gathered:
			case <-ctx.Done():
				t.Fatal("gathering did not finish")
			}
			sdp := pc.LocalDescription().SDP
			if got := strings.Contains(sdp, " typ relay"); got != tc.wantRelay {
				t.Errorf("relay candidate gathered = %v, want %v:\n%s", got, tc.wantRelay, sdp)
			}
		})
	}
}

// The dialer serves its own target only.
func TestTURNDialerRefusesOtherAddresses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	d := probes.TURNDialer(ctx, target(t, "turns:127.0.0.1:5349", probes.TLS))
	if conn, err := d.Dial("tcp4", "127.0.0.2:5349"); err == nil {
		_ = conn.Close()
		t.Fatal("dialled an address that is not the target's")
	}
}
