package media

import (
	"context"
	"testing"
	"time"

	pionmedia "github.com/pion/webrtc/v4/pkg/media"
)

func TestClips(t *testing.T) {
	for _, tc := range []struct {
		name      string
		clip      func() (*Clip, error)
		minFrames int
		frame     time.Duration
	}{
		{"video", Video, 89, time.Second / 30},
		{"audio", Audio, 149, 20 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.clip()
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Frames) < tc.minFrames {
				t.Errorf("%d frames, want at least %d", len(c.Frames), tc.minFrames)
			}
			// The last frame may be shorter: the encoder trims the stream
			// to the source's exact length.
			for i, f := range c.Frames[:len(c.Frames)-1] {
				if len(f.Data) == 0 || f.Duration != tc.frame {
					t.Fatalf("frame %d: %d bytes, %s long; want data and %s", i, len(f.Data), f.Duration, tc.frame)
				}
			}
			if l := c.Length(); l < 2900*time.Millisecond || l > 3100*time.Millisecond {
				t.Errorf("clip lasts %s, want about 3s", l)
			}
		})
	}
	if n := len(videoIVF) + len(audioOgg); n > 1<<20 {
		t.Errorf("clips take %d bytes, want at most 1 MiB", n)
	}
}

type countingWriter struct{ frames int }

func (w *countingWriter) WriteSample(pionmedia.Sample) error { w.frames++; return nil }

func TestPlayPacesAndLoops(t *testing.T) {
	c, err := Audio()
	if err != nil {
		t.Fatal(err)
	}
	// 3.5 s of audio from a 3 s clip at 20 ms frames forces a loop; the
	// clock is the real one, so keep it short.
	var w countingWriter
	start := time.Now()
	sent, err := c.Play(context.Background(), &w, 3500*time.Millisecond)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if sent != w.frames || sent < 175 || sent > 176 {
		t.Errorf("sent %d frames (writer saw %d), want 175 or 176 (one short frame at the loop)", sent, w.frames)
	}
	if took < 3400*time.Millisecond || took > 4*time.Second {
		t.Errorf("3.5 s of audio took %s to play", took)
	}
}

func TestPlayStopsOnCancel(t *testing.T) {
	c, err := Video()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var w countingWriter
	start := time.Now()
	if _, err := c.Play(ctx, &w, time.Hour); err == nil {
		t.Fatal("Play ignored the cancelled context")
	}
	// At 30 fps: one frame per 33 ms played, plus the first.
	if took, max := time.Since(start), 1+int(time.Since(start)/(33*time.Millisecond)); w.frames > max {
		t.Errorf("%d frames in %s at 30 fps", w.frames, took)
	}
}
