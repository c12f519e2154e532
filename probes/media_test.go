package probes_test

import (
	"context"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

func TestMediaLoopback(t *testing.T) {
	testenv.CheckGoroutines(t)
	stunSrv, turnSrv := stunTURN(t)
	servers := []webrtc.ICEServer{probes.ICEServer(stunSrv, probes.UDP), probes.ICEServer(turnSrv, probes.UDP)}
	for _, tc := range []struct {
		kind    webrtc.RTPCodecType
		relay   bool
		minKbps float64
	}{
		{webrtc.RTPCodecTypeAudio, false, 20},
		{webrtc.RTPCodecTypeVideo, false, 100},
		{webrtc.RTPCodecTypeAudio, true, 20},
	} {
		name := tc.kind.String()
		if tc.relay {
			name += "-relay"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			m := probes.Media(ctx, probes.MediaConfig{
				Pair: probes.PairConfig{ICEServers: servers, Loopback: true, Relay: tc.relay},
				Kind: tc.kind, Duration: 2 * time.Second,
			})
			if m.Err != nil {
				t.Fatalf("media: %v", m.Err)
			}
			t.Logf("%v", m.Metrics)
			got := m.Metrics
			// All of them on loopback, but for what was still in flight
			// when the drain ended (500 ms: under the race detector on a
			// loaded machine the receiver once ran that far behind); none
			// of those counts as lost (loss_pct below).
			if got["packets_sent"] < 50 || got["packets_received"] > got["packets_sent"] || got["packets_received"] < got["packets_sent"]-2 {
				t.Errorf("sent %v, received %v packets: want ≥ 50, all of them on loopback (the last two may be in flight)", got["packets_sent"], got["packets_received"])
			}
			if got["loss_pct"] != 0 {
				t.Errorf("loss_pct = %v on loopback", got["loss_pct"])
			}
			if rtt, ok := got["rtt_ms"]; !ok || rtt <= 0 || rtt > 20 {
				t.Errorf("rtt_ms = %v (present %v), want a loopback RTCP round trip", rtt, ok)
			}
			// Loopback jitter is the machine's scheduling noise: small,
			// but not zero on a busy machine.
			if got["jitter_ms"] < 0 || got["jitter_ms"] > 40 {
				t.Errorf("jitter_ms = %v", got["jitter_ms"])
			}
			if got["bitrate_kbps"] < tc.minKbps {
				t.Errorf("bitrate_kbps = %v, want ≥ %v", got["bitrate_kbps"], tc.minKbps)
			}
			if tc.kind == webrtc.RTPCodecTypeVideo {
				if fps := got["fps"]; fps < 25 || fps > 32 {
					t.Errorf("fps = %v, want about 30", fps)
				}
			} else if mos := got["mos"]; mos < 4.3 {
				t.Errorf("mos = %v, want ≥ 4.3 on a clean loopback", mos)
			}
			if len(m.Series) < 2 {
				t.Errorf("%d samples, want one a second", len(m.Series))
			}
			// Every per-second point is a plausible rate: the clip is
			// 30 fps, and no second carries more than twice the average.
			for i, s := range m.Series {
				if fps, ok := s.Metrics["fps"]; ok && fps > 45 {
					t.Errorf("sample %d: fps %v from a 30 fps clip", i, fps)
				}
				if kbps, ok := s.Metrics["bitrate_kbps"]; ok && kbps > 3*got["bitrate_kbps"] {
					t.Errorf("sample %d: bitrate %v kbit/s, the whole sample averaged %v", i, kbps, got["bitrate_kbps"])
				}
			}
		})
	}
}
