package probes_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

// stunTURN runs the embedded server for one test and returns its stun:
// and turn: servers.
func stunTURN(t testing.TB) (stunSrv, turnSrv probes.Server) {
	t.Helper()
	for _, s := range startEmbedded(t).Servers() {
		switch s.URI.Scheme {
		case stun.SchemeTypeSTUN:
			stunSrv = s
		case stun.SchemeTypeTURN:
			turnSrv = s
		}
	}
	return stunSrv, turnSrv
}

func TestICEEmbedded(t *testing.T) {
	testenv.CheckGoroutines(t)
	stunSrv, turnSrv := stunTURN(t)
	for _, tc := range []struct {
		name      string
		servers   []webrtc.ICEServer
		relay     bool
		wantRelay float64
	}{
		{"all", []webrtc.ICEServer{probes.ICEServer(stunSrv, probes.UDP), probes.ICEServer(turnSrv, probes.UDP)}, false, 0},
		{"relay-udp", []webrtc.ICEServer{probes.ICEServer(turnSrv, probes.UDP)}, true, 1},
		{"relay-tcp", []webrtc.ICEServer{probes.ICEServer(turnSrv, probes.TCP)}, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			m := probes.ICE(ctx, probes.PairConfig{ICEServers: tc.servers, Relay: tc.relay, Loopback: true})
			if m.Err != nil {
				t.Fatalf("ICE: %v (evidence %v)", m.Err, m.Evidence)
			}
			for _, k := range []string{"gathering_ms", "ice_ms", "dtls_ms", "connect_ms", "ice_rtt_ms"} {
				if _, ok := m.Metrics[k]; !ok {
					t.Errorf("metric %s missing: %v", k, m.Metrics)
				}
			}
			if got := m.Metrics["selected_relay"]; got != tc.wantRelay {
				t.Errorf("selected_relay = %v, want %v (evidence %v)", got, tc.wantRelay, m.Evidence)
			}
			if tc.relay && m.Metrics["candidates_relay"] < 2 {
				t.Errorf("candidates_relay = %v, want one per peer at least", m.Metrics["candidates_relay"])
			}
			if !tc.relay && (m.Metrics["candidates_host"] < 2 || m.Metrics["candidates_relay"] < 2) {
				t.Errorf("candidate inventory %v: want host and relay on both peers", m.Metrics)
			}
			t.Logf("metrics %v evidence %v", m.Metrics, m.Evidence)
			for _, e := range m.Evidence {
				if strings.Contains(e.Value, turnSrv.Password) {
					t.Fatalf("evidence %s shows the TURN password", e.Name)
				}
			}
		})
	}
}

func TestICEFailsAtNamedStage(t *testing.T) {
	testenv.CheckGoroutines(t)
	_, turnSrv := stunTURN(t)
	bad := turnSrv
	bad.Password = "wrong"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m := probes.ICE(ctx, probes.PairConfig{ICEServers: []webrtc.ICEServer{probes.ICEServer(bad, probes.UDP)}, Relay: true, Loopback: true})
	var ce *probes.ConnectError
	if !errors.As(m.Err, &ce) || ce.Stage != probes.StageGathering || !strings.Contains(ce.Error(), "no relay candidate") {
		t.Fatalf("err = %v, want a gathering-stage ConnectError about relay candidates", m.Err)
	}
	if strings.Contains(m.Err.Error(), "wrong") {
		t.Error("the error shows the password")
	}
}

func BenchmarkICEAll(b *testing.B)   { benchICE(b, false) }
func BenchmarkICERelay(b *testing.B) { benchICE(b, true) }

func benchICE(b *testing.B, relay bool) {
	stunSrv, turnSrv := stunTURN(b)
	servers := []webrtc.ICEServer{probes.ICEServer(stunSrv, probes.UDP), probes.ICEServer(turnSrv, probes.UDP)}
	var total float64
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		m := probes.ICE(ctx, probes.PairConfig{ICEServers: servers, Relay: relay, Loopback: true})
		cancel()
		if m.Err != nil {
			b.Fatal(m.Err)
		}
		total += m.Metrics["connect_ms"]
	}
	b.ReportMetric(total/float64(b.N), "connect_ms")
}
