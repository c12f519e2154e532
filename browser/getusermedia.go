package browser

import (
	"context"
	"fmt"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

// Kind is a capture kind: "audio" or "video".
type Kind string

// Capture kinds.
const (
	Audio Kind = "audio"
	Video Kind = "video"
)

// GUMConfig adjusts a getUserMedia probe.
type GUMConfig struct {
	// Deny refuses the camera/mic permission via DevTools, as a user
	// clicking "Block" would.
	Deny bool
}

// trackSettings is MediaStreamTrack.getSettings() plus the device label.
type trackSettings struct {
	Label        string  `json:"label"`
	Width        float64 `json:"width"`
	Height       float64 `json:"height"`
	FrameRate    float64 `json:"frameRate"`
	SampleRate   float64 `json:"sampleRate"`
	ChannelCount float64 `json:"channelCount"`
}

func (s trackSettings) record(m *probes.Measurement) {
	for name, v := range map[string]float64{"width": s.Width, "height": s.Height, "frame_rate": s.FrameRate,
		"sample_rate": s.SampleRate, "channels": s.ChannelCount} {
		if v > 0 {
			m.SetMetric(name, v)
		}
	}
	m.AddEvidence("device", fmt.Sprintf("%q", s.Label))
}

// firstDataWait is how long an open device may take to deliver data.
const firstDataWait = 3 * time.Second

// GetUserMediaTask is the page check of browser.getusermedia.KIND.
func GetUserMediaTask(kind Kind) Task {
	return Task{Name: PageGetUserMedia, Arg: map[string]any{"kind": kind, "waitMs": firstDataWait.Milliseconds()}}
}

// GetUserMedia opens the camera or the microphone and times the first
// frame (or audio chunk) after the call.
func GetUserMedia(ctx context.Context, b *Browser, kind Kind, cfg GUMConfig) probes.Measurement {
	perm := b.mediaPermission()
	if cfg.Deny {
		perm = permissionDeny
	}
	return b.measure(ctx, GetUserMediaTask(kind), perm, func(r PageResult) probes.Measurement { return GetUserMediaFrom(kind, r) })
}

// GetUserMediaFrom turns the getUserMedia page check's result into
// browser.getusermedia.KIND's measurement.
func GetUserMediaFrom(kind Kind, r PageResult) (m probes.Measurement) {
	var res struct {
		GUMMs    float64       `json:"gumMs"`
		FirstMs  *float64      `json:"firstMs"`
		Settings trackSettings `json:"settings"`
	}
	if m.Err = r.Decode(PageGetUserMedia, &res); m.Err != nil {
		return m
	}
	m.SetMetric("gum_ms", res.GUMMs)
	first := "first_frame_ms"
	if kind == Audio {
		first = "first_sample_ms"
	}
	if res.FirstMs == nil {
		m.Err = &StepTimeoutError{Stage: "the first " + string(kind) + " data from " + res.Settings.Label, After: firstDataWait}
		return m
	}
	m.SetMetric(first, *res.FirstMs)
	res.Settings.record(&m)
	return m
}
