package checks

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/internal/media"
	"github.com/rtcprobe/rtcprobe/probes"
)

// TestInteropCodecVerdicts judges real codec calls with Chromium as the
// interop.codec check does: a codec the browser does not have (G.729) is
// not negotiated, a skip each way; pion sending its VP9 clip labelled VP8
// is a decode failure at the browser, while the browser's own VP8 to pion
// passes.
func TestInteropCodecVerdicts(t *testing.T) {
	needBrowser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b, err := browser.Launch(ctx, browser.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	check := catalogCheck(t, "interop.codec")
	judge := func(m probes.Measurement) Result {
		return check.Judge(Subject{Name: "test"}, m, time.Second, check.Thresholds)
	}

	t.Run("not negotiated", func(t *testing.T) {
		g729 := browser.Codec{Name: "G.729", Kind: browser.Audio, MimeType: "audio/G729", ClockRate: 8000}
		res := browser.CodecCall(ctx, b, nil, g729, browser.CodecCallConfig{})
		for dir, f := range res.Flows {
			r := judge(f)
			if r.Status != Skip || !errors.Is(f.Err, probes.ErrUnsupported) || !strings.Contains(r.Error, "not negotiated") {
				t.Errorf("direction %d: %s %q, want a skip as not negotiated", dir, r.Status, r.Error)
			}
		}
	})

	t.Run("VP9 labelled VP8", func(t *testing.T) {
		// pion's VP9 packetizer parses what it sends, so the corruption
		// goes this way round: VP9 frames in VP8's payload format.
		vp9, err := media.ClipFor(webrtc.MimeTypeVP9)
		if err != nil {
			t.Fatal(err)
		}
		res := browser.CodecCall(ctx, b, nil, browser.MatrixCodecs[0], browser.CodecCallConfig{Clip: vp9})
		down := judge(res.Flows[1]) // pion → browser
		if down.Status != Fail || !down.Broke("frames_decoded") || !strings.Contains(down.Advice, "could not decode") {
			t.Errorf("pion → browser: %s, broke frames_decoded %v, advice %q; metrics %v", down.Status, down.Broke("frames_decoded"), down.Advice, down.Metrics)
		}
		// Warnings allowed: a loaded machine loses packets on loopback.
		if up := judge(res.Flows[0]); up.Status != Pass && up.Status != Warn {
			t.Errorf("browser → pion: %s %q, metrics %v", up.Status, up.Error, up.Metrics)
		}
	})
}
