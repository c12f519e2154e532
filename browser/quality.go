package browser

import (
	"context"
	"math"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

// How single frames and audio chunks are classified. These define what a
// black, frozen or silent unit is; how many of them are too many is the
// checks' business.
const (
	// BlackLuma: a frame whose mean luma (0-255) is below this is black.
	// Video black is 16 (BT.601); a covered or dead camera stays near it.
	BlackLuma = 20
	// FrozenDiff: a frame whose mean absolute luma difference from the
	// previous one is below this repeats it. Live sensors always have
	// more noise than this.
	FrozenDiff = 0.5
	// SilentDBFS: a 10 ms chunk whose RMS is below this is silence (a
	// quiet room through a working mic is around -50 to -40 dBFS).
	SilentDBFS = -60
	// FloorDBFS stands for digital silence, where the level is -Inf.
	FloorDBFS = -120
)

// QualityConfig sets how long the media is sampled.
type QualityConfig struct {
	Duration time.Duration // default 1.5 s
}

func (c QualityConfig) durationMs() float64 {
	if c.Duration <= 0 {
		return 1500
	}
	return float64(c.Duration.Milliseconds())
}

// VideoQualityTask is the page check of browser.video.quality.
func VideoQualityTask(cfg QualityConfig) Task {
	return Task{Name: PageVideoQuality, Arg: map[string]any{"durationMs": cfg.durationMs()}}
}

// VideoQuality samples the camera for about Duration and measures black
// frames, frozen frames, mean luma and the delivered frame rate.
func VideoQuality(ctx context.Context, b *Browser, cfg QualityConfig) probes.Measurement {
	return b.measure(ctx, VideoQualityTask(cfg), b.mediaPermission(), func(r PageResult) probes.Measurement {
		m := VideoQualityFrom(cfg, r)
		if pct, ok := m.Metrics["frozen_frames_pct"]; ok && b.stillFakeCamera() {
			// Not a camera fault to judge: the synthetic device is built so.
			delete(m.Metrics, "frozen_frames_pct")
			m.SetMetric("still_frames_pct", pct)
			m.AddEvidence("synthetic camera", "Firefox's fake camera draws one colour that changes by a step every few frames: its repeated frames are not judged as frozen")
		}
		return m
	})
}

// VideoQualityFrom turns the videoQuality page check's result into
// browser.video.quality's measurement.
func VideoQualityFrom(cfg QualityConfig, r PageResult) (m probes.Measurement) {
	var res struct {
		Frames   int           `json:"frames"`
		SpanMs   float64       `json:"spanMs"`
		Luma     []float64     `json:"luma"`
		Diff     []float64     `json:"diff"`
		Settings trackSettings `json:"settings"`
	}
	if m.Err = r.Decode(PageVideoQuality, &res); m.Err != nil {
		return m
	}
	res.Settings.record(&m)
	m.SetMetric("frames", float64(res.Frames))
	if res.Frames == 0 || len(res.Luma) == 0 {
		m.Err = &StepTimeoutError{Stage: "the first video frame", After: time.Duration(cfg.durationMs()) * time.Millisecond}
		return m
	}
	black, sum := 0, 0.0
	for _, y := range res.Luma {
		sum += y
		if y < BlackLuma {
			black++
		}
	}
	frozen := 0
	for _, d := range res.Diff {
		if d < FrozenDiff {
			frozen++
		}
	}
	m.SetMetric("luma_mean", sum/float64(len(res.Luma)))
	m.SetMetric("black_frames_pct", 100*float64(black)/float64(len(res.Luma)))
	if len(res.Diff) > 0 {
		m.SetMetric("frozen_frames_pct", 100*float64(frozen)/float64(len(res.Diff)))
	}
	if res.Frames > 1 && res.SpanMs > 0 {
		m.SetMetric("fps", float64(res.Frames-1)/(res.SpanMs/1000))
	}
	return m
}

// stillFakeCamera reports whether the camera is Firefox's synthetic one,
// whose picture is a still colour by design.
func (b *Browser) stillFakeCamera() bool { return b.engine == Firefox && b.cfg.Media != RealMedia }

// AudioQualityTask is the page check of browser.audio.quality.
func AudioQualityTask(cfg QualityConfig) Task {
	return Task{Name: PageAudioQuality, Arg: map[string]any{"durationMs": cfg.durationMs()}}
}

// AudioQuality samples the microphone (no echo cancellation, noise
// suppression or gain control) and measures level, peak, silence and
// clipping.
func AudioQuality(ctx context.Context, b *Browser, cfg QualityConfig) probes.Measurement {
	return b.measure(ctx, AudioQualityTask(cfg), b.mediaPermission(), func(r PageResult) probes.Measurement { return AudioQualityFrom(cfg, r) })
}

// AudioQualityFrom turns the audioQuality page check's result into
// browser.audio.quality's measurement.
func AudioQualityFrom(cfg QualityConfig, r PageResult) (m probes.Measurement) {
	var res struct {
		Samples    float64       `json:"samples"`
		SumSquares float64       `json:"sumSquares"`
		Peak       float64       `json:"peak"`
		Clipped    float64       `json:"clipped"`
		ChunkRms   []float64     `json:"chunkRms"`
		SampleRate float64       `json:"sampleRate"`
		Settings   trackSettings `json:"settings"`
	}
	if m.Err = r.Decode(PageAudioQuality, &res); m.Err != nil {
		return m
	}
	res.Settings.record(&m)
	if res.Samples <= 0 {
		m.Err = &StepTimeoutError{Stage: "the first audio samples", After: time.Duration(cfg.durationMs()) * time.Millisecond}
		return m
	}
	silent := 0
	for _, r := range res.ChunkRms {
		if dBFS(r) < SilentDBFS {
			silent++
		}
	}
	m.SetMetric("rms_dbfs", dBFS(math.Sqrt(res.SumSquares/res.Samples)))
	m.SetMetric("peak_dbfs", dBFS(res.Peak))
	m.SetMetric("clipped_pct", 100*res.Clipped/res.Samples)
	m.SetMetric("silent_pct", 100*float64(silent)/float64(max(1, len(res.ChunkRms))))
	m.SetMetric("samples", res.Samples)
	return m
}

// dBFS converts a linear full-scale amplitude to decibels, with digital
// silence at FloorDBFS rather than -Inf (which JSON cannot carry).
func dBFS(a float64) float64 {
	if a <= 0 {
		return FloorDBFS
	}
	return max(FloorDBFS, 20*math.Log10(a))
}
