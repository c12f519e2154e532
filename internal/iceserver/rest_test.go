package iceserver

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

// TestRESTServers: credentials minted from RESTServers allocate a relay
// until they expire; the secret is in no server's printed form.
func TestRESTServers(t *testing.T) {
	testenv.CheckGoroutines(t)
	srv, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var turn probes.Server
	for _, s := range srv.RESTServers(time.Minute) {
		if s.IsTURN() && s.URI.Scheme.String() == "turn" {
			turn = s
		}
		if s.IsTURN() && (s.REST == nil || s.Username != "" || strings.Contains(s.String(), s.REST.Secret)) {
			t.Fatalf("%s: want a REST secret and no static credential, kept out of the URI", s)
		}
	}
	for _, tc := range []struct {
		name string
		at   time.Time
		ok   bool
	}{{"fresh", time.Now(), true}, {"expired", time.Now().Add(-2 * time.Minute), false}} {
		t.Run(tc.name, func(t *testing.T) {
			target := probes.Target{Server: turn.Minted(tc.at), Transport: probes.UDP}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			m := probes.TURN(ctx, target, probes.TURNConfig{Packets: 2, Interval: time.Millisecond, SkipIPv6: true})
			var se *probes.STUNError
			switch {
			case tc.ok && m.Err != nil:
				t.Fatalf("fresh REST credentials refused: %v", m.Err)
			case !tc.ok && (!errors.As(m.Err, &se) || se.Code != 401):
				t.Fatalf("expired REST credentials: err = %v, want 401", m.Err)
			}
		})
	}
}
