package probes_test

import (
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/rtcprobe/rtcprobe/internal/media"
	"github.com/rtcprobe/rtcprobe/probes"
)

// packetize turns a clip into RTP packets as a sender paces them (one
// frame per frame duration), with pion's payloader for the codec.
func packetize(t *testing.T, mime string) ([]*rtp.Packet, []time.Time, *media.Clip) {
	t.Helper()
	clip, err := media.ClipFor(mime)
	if err != nil {
		t.Fatal(err)
	}
	payloaders := map[string]rtp.Payloader{
		"video/VP8": &codecs.VP8Payloader{EnablePictureID: true}, "video/VP9": &codecs.VP9Payloader{},
		"video/H264": &codecs.H264Payloader{}, "video/AV1": &codecs.AV1Payloader{},
		"audio/opus": &codecs.OpusPayloader{}, "audio/PCMU": &codecs.G711Payloader{}, "audio/PCMA": &codecs.G711Payloader{},
		"audio/G722": &codecs.G722Payloader{},
	}
	pk := rtp.NewPacketizer(1200, 96, 1, payloaders[mime], rtp.NewRandomSequencer(), clip.ClockRate)
	var (
		pkts []*rtp.Packet
		at   []time.Time
	)
	start := time.Unix(1000, 0)
	var elapsed time.Duration
	for _, f := range clip.Frames {
		for _, p := range pk.Packetize(f.Data, uint32(f.Duration.Seconds()*float64(clip.ClockRate))) {
			pkts = append(pkts, p)
			at = append(at, start.Add(elapsed))
		}
		elapsed += f.Duration
	}
	return pkts, at, clip
}

// Every clip, packetized by pion, reads as complete frames with a
// keyframe, no gap, timestamps moving forward at the codec's clock rate.
func TestCodecStreamClips(t *testing.T) {
	for _, mime := range []string{"video/VP8", "video/VP9", "video/H264", "video/AV1", "audio/opus", "audio/PCMU", "audio/PCMA", "audio/G722"} {
		t.Run(mime, func(t *testing.T) {
			pkts, at, clip := packetize(t, mime)
			s := probes.NewCodecStream(mime, clip.ClockRate)
			for i, p := range pkts {
				s.Add(p, at[i])
			}
			st := s.Stats()
			if st.Packets != len(pkts) || st.BadPayloads != 0 || st.SeqGaps != 0 || st.TimestampsBack != 0 {
				t.Errorf("stats %+v", st)
			}
			if clip.ClockRate == 90000 {
				if st.Frames != len(clip.Frames) || st.Incomplete != 0 || st.Keyframes < 1 {
					t.Errorf("%d frames (%d incomplete, %d keyframes), want %d complete with a keyframe", st.Frames, st.Incomplete, st.Keyframes, len(clip.Frames))
				}
			}
			if math.Abs(st.ClockRateHz-float64(clip.ClockRate))/float64(clip.ClockRate) > 0.02 {
				t.Errorf("clock rate %.0f Hz, want %d", st.ClockRateHz, clip.ClockRate)
			}
			if mime == "video/VP8" && (st.Width != media.ClipWidth || st.Height != media.ClipHeight) {
				t.Errorf("VP8 keyframe size %dx%d", st.Width, st.Height)
			}
		})
	}
}

// A lost packet leaves its frame incomplete and counts as a gap; a
// stream of another codec's payloads does not parse; an audio stream
// whose timestamps run at half speed shows it.
func TestCodecStreamFaults(t *testing.T) {
	t.Run("lost packet", func(t *testing.T) {
		pkts, at, clip := packetize(t, "video/VP8")
		s := probes.NewCodecStream("video/VP8", clip.ClockRate)
		var dropped bool
		for i, p := range pkts {
			// Drop the first packet of a multi-packet frame.
			if !dropped && i > 0 && !p.Marker && pkts[i-1].Marker {
				dropped = true
				continue
			}
			s.Add(p, at[i])
		}
		st := s.Stats()
		if !dropped || st.SeqGaps != 1 || st.Incomplete != 1 || st.Frames != len(clip.Frames)-1 {
			t.Errorf("dropped %v: stats %+v", dropped, st)
		}
	})
	t.Run("H.264 read as AV1", func(t *testing.T) {
		pkts, at, _ := packetize(t, "video/H264")
		s := probes.NewCodecStream("video/AV1", 90000)
		for i, p := range pkts {
			s.Add(p, at[i])
		}
		if st := s.Stats(); st.BadPayloads == 0 || st.Frames == len(pkts) {
			t.Errorf("foreign payloads passed as AV1: %+v", st)
		}
	})
	t.Run("stalled sender", func(t *testing.T) {
		// The sender stops for 300 ms without moving its timestamps (its
		// capture stalled): the clock rate stays the codec's.
		pkts, at, _ := packetize(t, "audio/opus")
		s := probes.NewCodecStream("audio/opus", 48000)
		for i, p := range pkts {
			when := at[i]
			if i >= 20 {
				when = when.Add(300 * time.Millisecond)
			}
			s.Add(p, when)
		}
		if st := s.Stats(); math.Abs(st.ClockRateHz-48000) > 500 {
			t.Errorf("clock rate %.0f Hz, want about 48000", st.ClockRateHz)
		}
	})
	t.Run("slow clock", func(t *testing.T) {
		pkts, at, _ := packetize(t, "audio/PCMU")
		s := probes.NewCodecStream("audio/PCMU", 8000)
		for i, p := range pkts {
			s.Add(p, at[0].Add(2*at[i].Sub(at[0])))
		}
		if st := s.Stats(); math.Abs(st.ClockRateHz-4000) > 100 {
			t.Errorf("clock rate %.0f Hz, want about 4000", st.ClockRateHz)
		}
	})
}
