package browser

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/media"
	"github.com/rtcprobe/rtcprobe/probes"
)

// TestCodecMatrix makes every cell of the codec matrix for real: each
// browser with pion and Chromium with Firefox, every codec, each
// direction. A cell either flows, as its receiver shows, or is not
// negotiated because an end lacks the codec (here: Firefox without its
// downloadable OpenH264 has no H.264).
func TestCodecMatrix(t *testing.T) {
	chrome, fx := sharedBrowser(t), sharedFirefox(t)
	checkGoroutines(t, chrome, fx)
	type cell struct {
		pair  string
		codec Codec
		res   CodecCallResult
	}
	var (
		mu    sync.Mutex
		cells []cell
		wg    sync.WaitGroup
		slots = make(chan struct{}, 3)
	)
	start := time.Now()
	for _, pair := range []struct {
		name string
		a, b *Browser
	}{{"chromium ↔ pion", chrome, nil}, {"firefox ↔ pion", fx, nil}, {"chromium ↔ firefox", chrome, fx}} {
		for _, c := range MatrixCodecs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				slots <- struct{}{}
				defer func() { <-slots }()
				res := CodecCall(testCtx(t, 40*time.Second), pair.a, pair.b, c, CodecCallConfig{})
				mu.Lock()
				cells = append(cells, cell{pair.name, c, res})
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	t.Logf("%d calls in %s", len(cells), time.Since(start).Round(time.Millisecond))
	for _, cl := range cells {
		for dir, f := range cl.res.Flows {
			name := fmt.Sprintf("%s %s direction %d", cl.pair, cl.codec.Name, dir)
			firefoxH264 := cl.codec.Name == "H.264" && strings.Contains(cl.pair, "firefox")
			if errors.Is(f.Err, probes.ErrUnsupported) {
				if !firefoxH264 || !strings.Contains(f.Err.Error(), "not negotiated: Firefox") {
					t.Errorf("%s: %v", name, f.Err)
				}
				continue
			}
			if f.Err != nil || firefoxH264 {
				t.Errorf("%s: err %v, metrics %v, evidence %v", name, f.Err, f.Metrics, f.Evidence)
				continue
			}
			atPion := cl.pair != "chromium ↔ firefox" && dir == 0
			var want map[string][2]float64
			switch {
			case cl.codec.Kind == Video && atPion:
				want = map[string][2]float64{"frames": {20, 1e4}, "keyframes": {1, 1e4}, "bad_payloads": {0, 0}, "timestamps_back": {0, 0}}
			case cl.codec.Kind == Video:
				want = map[string][2]float64{"frames_decoded": {20, 1e4}, "size_match": {1, 1}, "decoded_pct": {50, 100}}
			case atPion:
				want = map[string][2]float64{"packets": {40, 1e4}, "bad_payloads": {0, 0}, "clock_error_pct": {0, 5}}
			default:
				want = map[string][2]float64{"samples": {1000, 1e7}, "concealed_pct": {0, 30}}
			}
			for m, r := range want {
				if v, ok := f.Metrics[m]; !ok || v < r[0] || v > r[1] {
					t.Errorf("%s: %s = %v (present %v), want %g..%g; metrics %v", name, m, v, ok, r[0], r[1], f.Metrics)
				}
			}
			if !hasEvidence(f, "negotiated", strings.ToLower(strings.TrimPrefix(cl.codec.MimeType, string(cl.codec.Kind)+"/"))) &&
				!hasEvidence(f, "negotiated", strings.TrimPrefix(cl.codec.MimeType, string(cl.codec.Kind)+"/")) {
				t.Errorf("%s: negotiated codec not in the evidence: %v", name, f.Evidence)
			}
		}
	}
}

// TestCodecCallCorrupted: pion sends its VP9 clip labelled VP8 (pion's
// VP9 packetizer parses what it sends, so VP8 labelled VP9 would never
// leave it); both browsers receive the packets and decode nothing, which
// the cell shows.
func TestCodecCallCorrupted(t *testing.T) {
	vp9, err := media.ClipFor(webrtc.MimeTypeVP9)
	if err != nil {
		t.Fatal(err)
	}
	vp8 := MatrixCodecs[0]
	eachEngine(t, func(t *testing.T, b *Browser) {
		res := CodecCall(testCtx(t, 30*time.Second), b, nil, vp8, CodecCallConfig{Clip: vp9})
		f := res.Flows[1] // pion → browser
		if f.Err != nil {
			t.Fatalf("%v (evidence %v)", f.Err, f.Evidence)
		}
		if metric(t, f, "packets") < 10 || metric(t, f, "frames_decoded") != 0 {
			t.Errorf("VP9 sent as VP8: %v, want packets and no frame decoded", f.Metrics)
		}
		// The other direction is sound: the browser's own VP8 reaches pion.
		if r := res.Flows[0]; r.Err != nil || r.Metrics["frames"] < 1 {
			t.Errorf("browser → pion: %v %v", r.Err, r.Metrics)
		}
	})
}

// TestPeerCall: Chromium calls Firefox through rtcprobe's relay, with
// all candidates and relay-only over UDP and TCP.
func TestPeerCall(t *testing.T) {
	chrome, fx := sharedBrowser(t), sharedFirefox(t)
	checkGoroutines(t, chrome, fx)
	srv, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	turnSrv := srv.Servers()[1]
	for _, tt := range []struct {
		name  string
		relay *probes.Target
	}{
		{"all candidates", nil},
		{"relay-only udp", &probes.Target{Server: turnSrv, Transport: probes.UDP}},
		{"relay-only tcp", &probes.Target{Server: turnSrv, Transport: probes.TCP}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := PeerCall(testCtx(t, 30*time.Second), chrome, fx, InteropConfig{Relay: tt.relay})
			if m.Err != nil {
				t.Fatalf("%v (evidence %v)", m.Err, m.Evidence)
			}
			for _, name := range []string{"offerer_frames_decoded", "answerer_frames_decoded", "offerer_audio_packets", "answerer_audio_packets"} {
				if v := metric(t, m, name); v < 1 {
					t.Errorf("%s = %g: media did not flow (evidence %v)", name, v, m.Evidence)
				}
			}
			if v := metric(t, m, "dc_lost"); v != 0 {
				t.Errorf("dc_lost = %g", v)
			}
			if tt.relay != nil && metric(t, m, "relayed") != 1 {
				t.Errorf("relayed = %g: %v", m.Metrics["relayed"], m.Evidence)
			}
			for _, e := range m.Evidence {
				if _, pass := srv.Credentials(); strings.Contains(e.Value, pass) {
					t.Fatalf("evidence leaks the TURN password: %v", e)
				}
			}
		})
	}
	// Firefox does not use turns: by IP address: says so instead of failing.
	var turns probes.Server
	for _, s := range srv.Servers() {
		if s.URI.Scheme == stun.SchemeTypeTURNS {
			turns = s
		}
	}
	m := PeerCall(testCtx(t, 10*time.Second), chrome, fx, InteropConfig{Relay: &probes.Target{Server: turns, Transport: probes.TLS}})
	if !errors.Is(m.Err, probes.ErrUnsupported) || !strings.Contains(m.Err.Error(), "Firefox does not use TURN over TLS") {
		t.Errorf("relay-only via %s: %v", turns, m.Err)
	}
}
