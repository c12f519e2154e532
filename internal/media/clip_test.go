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

// Every codec of the interop matrix has a clip: frames of its kind's
// length, and video clips that start with a keyframe (they loop).
func TestCodecClips(t *testing.T) {
	for _, tc := range []struct {
		mime      string
		minFrames int
		frame     time.Duration
		key       func([]byte) bool
	}{
		{"video/VP8", 89, time.Second / 30, func(b []byte) bool { return b[0]&1 == 0 }},
		{"video/VP9", 30, time.Second / 30, func(b []byte) bool { return b[0]>>6 == 2 && b[0]&0x04 == 0 }},       // frame marker, profile 0, keyframe
		{"video/AV1", 30, time.Second / 30, func(b []byte) bool { return b[0]>>3&0xf == 1 || b[0]>>3&0xf == 2 }}, // sequence header or temporal delimiter first
		{"video/H264", 30, time.Second / 30, func(b []byte) bool { return b[4]&0x1f == 7 }},                      // SPS first
		{"audio/opus", 149, 20 * time.Millisecond, nil},
		{"audio/PCMU", 50, 20 * time.Millisecond, nil},
		{"audio/PCMA", 50, 20 * time.Millisecond, nil},
		{"audio/G722", 50, 20 * time.Millisecond, nil},
	} {
		t.Run(tc.mime, func(t *testing.T) {
			c, err := ClipFor(tc.mime)
			if err != nil {
				t.Fatal(err)
			}
			// A picture per frame: 1 s at 30 fps for the matrix clips.
			if c.MimeType != tc.mime || len(c.Frames) < tc.minFrames || c.ClockRate == 90000 && tc.mime != "video/VP8" && len(c.Frames) != 30 {
				t.Fatalf("%s: %d frames, want %s and at least %d", c.MimeType, len(c.Frames), tc.mime, tc.minFrames)
			}
			for i, f := range c.Frames[:len(c.Frames)-1] {
				if len(f.Data) == 0 || f.Duration != tc.frame {
					t.Fatalf("frame %d: %d bytes, %s long; want data and %s", i, len(f.Data), f.Duration, tc.frame)
				}
			}
			if tc.key != nil && !tc.key(c.Frames[0].Data) {
				t.Errorf("first frame % x… is not a keyframe", c.Frames[0].Data[:8])
			}
		})
	}
	if _, err := ClipFor("video/H265"); err == nil {
		t.Error("a clip for a codec without one")
	}
}
