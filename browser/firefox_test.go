package browser

import (
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/embedded"
	"github.com/rtcprobe/rtcprobe/probes"
)

func TestFirefoxSmoke(t *testing.T) {
	b := sharedFirefox(t)
	srv, err := embedded.Start(embedded.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for name, run := range map[string]func() probes.Measurement{
		"api":     func() probes.Measurement { return API(testCtx(t, 10*time.Second), b) },
		"devices": func() probes.Measurement { return Devices(testCtx(t, 10*time.Second), b) },
		"codecs":  func() probes.Measurement { return Codecs(testCtx(t, 10*time.Second), b) },
		"gumv":    func() probes.Measurement { return GetUserMedia(testCtx(t, 10*time.Second), b, Video, GUMConfig{}) },
		"guma":    func() probes.Measurement { return GetUserMedia(testCtx(t, 10*time.Second), b, Audio, GUMConfig{}) },
		"deny": func() probes.Measurement {
			return GetUserMedia(testCtx(t, 10*time.Second), b, Audio, GUMConfig{Deny: true})
		},
		"ice": func() probes.Measurement {
			return ICE(testCtx(t, 10*time.Second), b, probes.Target{Server: srv.Servers()[1], Transport: probes.UDP}, ICEConfig{})
		},
		"loopback": func() probes.Measurement { return Loopback(testCtx(t, 10*time.Second), b, LoopbackConfig{}) },
		"res":      func() probes.Measurement { return CaptureResolutions(testCtx(t, 10*time.Second), b) },
		"vq":       func() probes.Measurement { return VideoQuality(testCtx(t, 10*time.Second), b, QualityConfig{}) },
		"aq":       func() probes.Measurement { return AudioQuality(testCtx(t, 10*time.Second), b, QualityConfig{}) },
		"interop":  func() probes.Measurement { return Interop(testCtx(t, 15*time.Second), b, InteropConfig{}) },
	} {
		m := run()
		t.Logf("%s: err=%v metrics=%v\n evidence=%v", name, m.Err, m.Metrics, m.Evidence)
	}
}
