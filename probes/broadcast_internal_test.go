package probes

import (
	"math"
	"testing"
	"time"
)

// summariseViewers over forty viewers whose figures are known: most play
// at 30 fps and 1000 kbit/s, two are slow. The slow ones are what p5 and
// min are for; first-frame times are milliseconds.
func TestSummariseViewers(t *testing.T) {
	var stats []ViewerStats
	for i := range 40 {
		s := ViewerStats{
			FirstFrame: 300*time.Millisecond + time.Duration(i)*10*time.Millisecond,
			Packets:    1000, LossPct: float64(i) / 10, JitterMs: 2, FPS: 30, BitrateKbps: 1000, Video: true,
		}
		switch i {
		case 0:
			s.FPS, s.BitrateKbps = 5, 100
		case 1:
			s.FPS, s.BitrateKbps = 12, 400
		}
		stats = append(stats, s)
	}
	var m Measurement
	if silent := summariseViewers(&m, stats); silent != 0 {
		t.Errorf("%d silent viewers, want 0", silent)
	}
	want := map[string]float64{
		"viewers_silent": 0,
		// Nearest rank of 40: p5 the 2nd, p50 the 20th, p95 the 38th.
		"fps_p50": 30, "fps_p5": 12, "fps_min": 5,
		"bitrate_p50_kbps": 1000, "bitrate_p5_kbps": 400, "bitrate_min_kbps": 100,
		"first_frame_p50_ms": 490, "first_frame_p95_ms": 670, "first_frame_max_ms": 690,
		"loss_p50_pct": 1.9, "loss_p95_pct": 3.7, "loss_max_pct": 3.9,
		"jitter_p50_ms": 2, "jitter_p95_ms": 2, "jitter_max_ms": 2,
	}
	for k, v := range want {
		if got, ok := m.Metrics[k]; !ok || math.Abs(got-v) > 1e-9 {
			t.Errorf("%s = %v (recorded %v), want %v", k, got, ok, v)
		}
	}
	// Less fps or bitrate is worse: their high end says nothing.
	for _, k := range []string{"fps_p95", "fps_max", "bitrate_p95_kbps", "bitrate_max_kbps", "first_frame_p5_ms", "first_frame_min_ms"} {
		if v, ok := m.Metrics[k]; ok {
			t.Errorf("%s recorded (%v)", k, v)
		}
	}
}

// A viewer that received nothing is 100 % loss and silent; one that
// received audio only plays at 0 fps.
func TestSummariseViewersSilent(t *testing.T) {
	stats := []ViewerStats{
		{FirstFrame: 400 * time.Millisecond, Packets: 500, FPS: 30, BitrateKbps: 900, Video: true},
		{FirstFrame: 200 * time.Millisecond, Packets: 100, BitrateKbps: 40},
		{},
	}
	var m Measurement
	if silent := summariseViewers(&m, stats); silent != 1 {
		t.Errorf("%d silent viewers, want 1", silent)
	}
	want := map[string]float64{
		"viewers_silent": 1, "loss_max_pct": 100, "loss_p50_pct": 0,
		"fps_min": 0, "fps_p50": 0, "bitrate_min_kbps": 40,
		"first_frame_p50_ms": 200, "first_frame_max_ms": 400,
	}
	for k, v := range want {
		if got, ok := m.Metrics[k]; !ok || math.Abs(got-v) > 1e-9 {
			t.Errorf("%s = %v (recorded %v), want %v", k, got, ok, v)
		}
	}
}

// One viewer's figures: first_frame_ms in milliseconds.
func TestRecordViewer(t *testing.T) {
	var m Measurement
	if err := recordViewer(&m, ViewerStats{FirstFrame: 750 * time.Millisecond, Packets: 10, FPS: 30, BitrateKbps: 800, Video: true}); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]float64{"first_frame_ms": 750, "fps": 30, "bitrate_kbps": 800, "packets_received": 10} {
		if got := m.Metrics[k]; got != v {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	if err := recordViewer(&m, ViewerStats{}); err != errNoMedia {
		t.Errorf("a viewer without packets: %v, want errNoMedia", err)
	}
}

// A viewer's frame rate from what its receiver counted: a generated
// stream of 31 frames at 30 fps (two packets each, the marker on the
// second) spans one second, 30 frame intervals.
func TestViewerFrameRate(t *testing.T) {
	for _, tc := range []struct {
		frames int
		fps    float64
		want   float64
	}{
		{31, 30, 30},
		{61, 30, 30},
		{26, 25, 25},
		{1, 30, 0},
	} {
		r := &RTPReceiver{Video: true}
		start := time.Unix(1000, 0)
		interval := time.Duration(float64(time.Second) / tc.fps)
		seq := uint16(65530) // wraps on the way
		for f := range tc.frames {
			at := start.Add(time.Duration(f) * interval)
			ts := uint32(f) * uint32(90000/tc.fps)
			r.arrive(at, seq, ts, 1000, false, 90000)
			r.arrive(at.Add(2*time.Millisecond), seq+1, ts, 600, true, 90000)
			seq += 2
		}
		r.mu.Lock()
		got := frameRate(r.frames, r.firstFrame, r.lastFrame)
		r.mu.Unlock()
		if math.Abs(got-tc.want) > 0.01 {
			t.Errorf("%d frames at %g fps: %v fps, want %v", tc.frames, tc.fps, got, tc.want)
		}
	}
}
