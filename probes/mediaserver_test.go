package probes_test

import (
	"context"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/fanout"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

func startFanout(t *testing.T, cfg fanout.Config) *fanout.Server {
	t.Helper()
	srv, err := fanout.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// TestWHIPWHEPEmbedded publishes, plays and loops back through the
// embedded fan-out server and checks the figures are those of a clean
// loopback path.
func TestWHIPWHEPEmbedded(t *testing.T) {
	testenv.CheckGoroutines(t)
	srv := startFanout(t, fanout.Config{})
	cfg := probes.MediaServerConfig{
		WHIP:     probes.Endpoint{URL: srv.WHIP("s1")},
		WHEP:     probes.Endpoint{URL: srv.WHEP("s1")},
		Duration: 2 * time.Second,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	t.Run("publish", func(t *testing.T) {
		m := probes.WHIPPublish(ctx, cfg)
		if m.Err != nil {
			t.Fatalf("publish: %v", m.Err)
		}
		t.Logf("metrics %v evidence %v", m.Metrics, m.Evidence)
		if m.Metrics["packets_sent"] < 100 || m.Metrics["trickle"] != 1 {
			t.Errorf("packets_sent %v trickle %v", m.Metrics["packets_sent"], m.Metrics["trickle"])
		}
		if _, ok := m.Metrics["rtcp_loss_pct"]; !ok {
			t.Errorf("no rtcp_loss_pct: the server's receiver reports were not read")
		}
	})
	t.Run("loopback", func(t *testing.T) {
		m := probes.WHIPLoopback(ctx, cfg)
		if m.Err != nil {
			t.Fatalf("loopback: %v", m.Err)
		}
		t.Logf("metrics %v evidence %v", m.Metrics, m.Evidence)
		if m.Metrics["loss_pct"] > 1 || m.Metrics["fps"] < 20 || m.Metrics["delay_samples"] < 50 {
			t.Errorf("loss %v fps %v delay samples %v", m.Metrics["loss_pct"], m.Metrics["fps"], m.Metrics["delay_samples"])
		}
		if d := m.Metrics["delay_ms"]; d <= 0 || d > 100 {
			t.Errorf("delay through a loopback server %v ms", d)
		}
		// A server that forwards every packet delivers about the rate sent
		// (less the clip's first key frame, sent before the viewer joined).
		if got, sent := m.Metrics["bitrate_kbps"], m.Metrics["publish_bitrate_kbps"]; sent <= 0 || got < sent*0.85 || got > sent*1.1 {
			t.Errorf("bitrate received %v kbit/s, sent %v", got, sent)
		}
	})
	if n := srv.Sessions(); n != 0 {
		t.Errorf("%d sessions left on the server: DELETE did not end them", n)
	}
}

func TestBroadcastEmbedded(t *testing.T) {
	testenv.CheckGoroutines(t)
	srv := startFanout(t, fanout.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m := probes.Broadcast(ctx, probes.BroadcastConfig{
		MediaServerConfig: probes.MediaServerConfig{
			WHIP: probes.Endpoint{URL: srv.WHIP("b")}, WHEP: probes.Endpoint{URL: srv.WHEP("b")}, Duration: 2 * time.Second,
		},
		Viewers: 5,
	})
	if m.Err != nil {
		t.Fatal(m.Err)
	}
	t.Logf("metrics %v", m.Metrics)
	if m.Metrics["viewers_connected"] != 5 || m.Metrics["loss_p95_pct"] > 1 {
		t.Errorf("viewers_connected %v loss p95 %v", m.Metrics["viewers_connected"], m.Metrics["loss_p95_pct"])
	}
}
