package browser

import (
	"context"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/embedded"
	"github.com/rtcprobe/rtcprobe/probes"
)

func TestSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := embedded.Start(embedded.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	servers := srv.Servers()
	t0 := time.Now()
	b, err := Launch(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("launch %s %s pid %d dir %s", time.Since(t0), b.Version(), b.PID(), b.ProfileDir())
	defer b.Close()
	relay := probes.Target{Server: servers[1], Transport: probes.UDP}
	relayTCP := probes.Target{Server: servers[1], Transport: probes.TCP}
	for name, f := range map[string]func() probes.Measurement{
		"api":  func() probes.Measurement { return API(ctx, b) },
		"vq":   func() probes.Measurement { return VideoQuality(ctx, b, QualityConfig{}) },
		"aq":   func() probes.Measurement { return AudioQuality(ctx, b, QualityConfig{}) },
		"deny": func() probes.Measurement { return GetUserMedia(ctx, b, Video, GUMConfig{Deny: true}) },
		"ice-stun": func() probes.Measurement {
			return ICE(ctx, b, probes.Target{Server: servers[0], Transport: probes.UDP}, ICEConfig{})
		},
		"ice-turn":  func() probes.Measurement { return ICE(ctx, b, relay, ICEConfig{}) },
		"ice-turnt": func() probes.Measurement { return ICE(ctx, b, relayTCP, ICEConfig{}) },
		"interop":   func() probes.Measurement { return Interop(ctx, b, InteropConfig{}) },
		"interop-r": func() probes.Measurement { return Interop(ctx, b, InteropConfig{Relay: &relay}) },
		"interop-rt": func() probes.Measurement { return Interop(ctx, b, InteropConfig{Relay: &relayTCP}) },
		"codecs":    func() probes.Measurement { return Codecs(ctx, b) },
	} {
		t1 := time.Now()
		m := f()
		t.Logf("%s %s err=%v metrics=%v ev=%v", name, time.Since(t1), m.Err, m.Metrics, m.Evidence)
	}
}
