package browser

import (
	"sync"
	"testing"
	"time"
)

// TestResolutionsBesideSharedCamera: Chrome's synthetic devices give
// browser.resolutions a camera of its own, so it asks for exact sizes
// while another page holds the first camera at 640x480. On that camera
// the larger sizes would be refused (an open camera keeps its size): all
// four delivered, and the evidence naming the second camera, say the
// check used its own.
func TestResolutionsBesideSharedCamera(t *testing.T) {
	b := sharedBrowser(t)
	if b.Engine() != Chromium {
		t.Skip("a spare camera is Chrome's synthetic devices'")
	}
	holdTab(t)
	holdTab(t)
	var wg sync.WaitGroup
	var quality struct{ start, end time.Time }
	wg.Add(1)
	go func() {
		defer wg.Done()
		quality.start = time.Now()
		if m := VideoQuality(testCtx(t, 15*time.Second), b, QualityConfig{Duration: 4 * time.Second}); m.Err != nil {
			t.Errorf("video quality beside: %v", m.Err)
		}
		quality.end = time.Now()
	}()
	time.Sleep(1500 * time.Millisecond) // the first camera is open at 640x480 by now
	m := CaptureResolutions(testCtx(t, 10*time.Second), b)
	ended := time.Now()
	wg.Wait()
	if m.Err != nil {
		t.Fatalf("resolutions: %v (evidence %v)", m.Err, m.Evidence)
	}
	if ended.After(quality.end) {
		t.Fatalf("resolutions ended after the page holding the camera (%v after its start): nothing was shown", quality.end.Sub(quality.start))
	}
	if got := m.Metrics["resolutions"]; got != 4 {
		t.Errorf("resolutions = %g of 4 beside a page holding the first camera (evidence %v)", got, m.Evidence)
	}
	if !hasEvidence(m, "camera", "fake_device_1") {
		t.Errorf("evidence does not name the second synthetic camera: %v", m.Evidence)
	}
}

// TestSpareCamera: only Chrome's synthetic devices get a spare camera; a
// real camera, a clip and Firefox keep browser.resolutions alone.
func TestSpareCamera(t *testing.T) {
	for _, tt := range []struct {
		cfg   Config
		alone bool
	}{
		{Config{Engine: Chromium, Media: FakeMedia}, false},
		{Config{Engine: Chromium, Media: RealMedia}, true},
		{Config{Engine: Chromium, Media: FakeMedia, FakeVideoFile: "clip.y4m"}, true},
		{Config{Engine: Firefox, Media: FakeMedia}, true},
	} {
		if got := tt.cfg.capturesAlone(PageResolutions); got != tt.alone {
			t.Errorf("%s %s %q: resolutions alone = %v, want %v", tt.cfg.Engine, tt.cfg.Media, tt.cfg.FakeVideoFile, got, tt.alone)
		}
		if tt.cfg.capturesAlone(PageVideoQuality) {
			t.Errorf("%s: a sharing page needs the camera alone", tt.cfg.Engine)
		}
		if spare := tt.cfg.fakeDevices() == "device-count=2"; spare == tt.alone {
			t.Errorf("%s %s %q: Chrome asked for a spare camera = %v", tt.cfg.Engine, tt.cfg.Media, tt.cfg.FakeVideoFile, spare)
		}
	}
}
