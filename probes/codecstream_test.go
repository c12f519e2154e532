package probes_test

import (
	"fmt"
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
	return packetizeSeq(t, mime, rtp.NewRandomSequencer())
}

// packetizeSeq is packetize with the sequence numbers seq gives.
func packetizeSeq(t *testing.T, mime string, seq rtp.Sequencer) ([]*rtp.Packet, []time.Time, *media.Clip) {
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
	pk := rtp.NewPacketizer(1200, 96, 1, payloaders[mime], seq, clip.ClockRate)
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

// The 16-bit sequence number wraps mid-stream: nothing is reordered or
// missing; a packet that really comes late across the wrap is one
// reordered packet (and the gap it left when its successor came).
func TestCodecStreamSeqWrap(t *testing.T) {
	pkts, at, clip := packetizeSeq(t, "video/VP8", rtp.NewFixedSequencer(65500))
	if len(pkts) < 100 {
		t.Fatalf("%d packets: the sequence number does not wrap", len(pkts))
	}
	t.Run("in order", func(t *testing.T) {
		s := probes.NewCodecStream("video/VP8", clip.ClockRate)
		for i, p := range pkts {
			s.Add(p, at[i])
		}
		st := s.Stats()
		if st.Reordered != 0 || st.SeqGaps != 0 || st.Frames != len(clip.Frames) || st.Incomplete != 0 {
			t.Errorf("across the wrap: %d reordered, %d gaps, %d frames (%d incomplete), want 0, 0, %d (0)", st.Reordered, st.SeqGaps, st.Frames, st.Incomplete, len(clip.Frames))
		}
	})
	t.Run("one late", func(t *testing.T) {
		// Sequence number 65535 arrives after 0.
		i := 65535 - 65500
		order := append([]*rtp.Packet{}, pkts...)
		order[i], order[i+1] = order[i+1], order[i]
		s := probes.NewCodecStream("video/VP8", clip.ClockRate)
		for j, p := range order {
			s.Add(p, at[j])
		}
		// The gap shows when 0 comes; the late packet does not undo it.
		if st := s.Stats(); st.Reordered != 1 || st.SeqGaps != 1 {
			t.Errorf("one packet late across the wrap: %d reordered, %d gaps, want 1, 1", st.Reordered, st.SeqGaps)
		}
	})
}

// A frame that repeats the previous frame's RTP timestamp, or goes back
// before it, does not move the timestamp forward: each counts once in
// TimestampsBack.
func TestCodecStreamTimestampsBack(t *testing.T) {
	for _, tc := range []struct {
		name  string
		shift func(prev, own uint32) uint32 // the moved frame's new timestamp
	}{
		{"repeated", func(prev, _ uint32) uint32 { return prev }},
		{"backwards", func(prev, _ uint32) uint32 { return prev - 3000 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkts, at, clip := packetize(t, "video/VP8")
			// The frames by their first packet; move the 10th frame's
			// timestamp (every packet of it, copied).
			var starts []int
			for i := range pkts {
				if i == 0 || pkts[i-1].Marker {
					starts = append(starts, i)
				}
			}
			if len(starts) < 12 {
				t.Fatalf("%d frames", len(starts))
			}
			prev, own := pkts[starts[9]].Timestamp, pkts[starts[10]].Timestamp
			s := probes.NewCodecStream("video/VP8", clip.ClockRate)
			for i, p := range pkts {
				if i >= starts[10] && i < starts[11] {
					c := *p
					c.Timestamp = tc.shift(prev, own)
					p = &c
				}
				s.Add(p, at[i])
			}
			if st := s.Stats(); st.TimestampsBack != 1 || st.Frames != len(clip.Frames) {
				t.Errorf("frame 10 at timestamp %d after %d: %d timestamps back, %d frames; want 1, %d", tc.shift(prev, own), prev, st.TimestampsBack, st.Frames, len(clip.Frames))
			}
		})
	}
}

// The sender stalls in the middle of the stream, where the windows of
// the middle of the recording lie: the median of all windows still reads
// the codec's clock rate.
func TestCodecStreamClockMidStall(t *testing.T) {
	pkts, at, _ := packetize(t, "audio/opus")
	if d := at[len(at)-1].Sub(at[0]); d < 3*time.Second {
		t.Fatalf("a clip of %v: too short for windows around a stall", d)
	}
	s := probes.NewCodecStream("audio/opus", 48000)
	stall := len(pkts) / 2
	for i, p := range pkts {
		when := at[i]
		if i >= stall {
			when = when.Add(300 * time.Millisecond)
		}
		s.Add(p, when)
	}
	if st := s.Stats(); math.Abs(st.ClockRateHz-48000) > 500 {
		t.Errorf("clock rate %.0f Hz, want about 48000", st.ClockRateHz)
	}
}

// Timestamps that run 4 % slow against arrival time read as a clock
// error of 4 (percent, as the checks' thresholds of 2 and 5 take it).
func TestCodecStreamClockError(t *testing.T) {
	for _, tc := range []struct {
		mime  string
		clock uint32
		speed float64 // timestamp rate against the codec's
		want  float64
	}{
		{"audio/PCMU", 8000, 0.96, 4},
		{"audio/opus", 48000, 1.01, 1},
		{"audio/opus", 48000, 1, 0},
	} {
		t.Run(fmt.Sprintf("%s×%g", tc.mime, tc.speed), func(t *testing.T) {
			pkts, at, _ := packetize(t, tc.mime)
			s := probes.NewCodecStream(tc.mime, tc.clock)
			for i, p := range pkts {
				// Arrival stretched by 1/speed: the timestamps advance at
				// speed × the codec's rate.
				s.Add(p, at[0].Add(time.Duration(float64(at[i].Sub(at[0]))/tc.speed)))
			}
			st := s.Stats()
			if got := st.ClockErrorPct(tc.clock); math.Abs(got-tc.want) > 0.2 {
				t.Errorf("clock %.0f Hz of %d: clock error %.3f %%, want %g", st.ClockRateHz, tc.clock, got, tc.want)
			}
		})
	}
}

// The 32-bit RTP timestamp wraps a quarter into the stream: the clock
// rate still reads the codec's, and no frame goes back.
func TestCodecStreamTimestampWrap(t *testing.T) {
	for _, mime := range []string{"audio/opus", "video/VP8"} {
		t.Run(mime, func(t *testing.T) {
			pkts, at, clip := packetize(t, mime)
			// Shift every timestamp so that the wrap comes at a quarter.
			q := pkts[len(pkts)/4].Timestamp
			s := probes.NewCodecStream(mime, clip.ClockRate)
			for i, p := range pkts {
				c := *p
				c.Timestamp = p.Timestamp - q // 0 at the quarter
				s.Add(&c, at[i])
			}
			st := s.Stats()
			if math.Abs(st.ClockRateHz-float64(clip.ClockRate))/float64(clip.ClockRate) > 0.02 || st.TimestampsBack != 0 {
				t.Errorf("across the timestamp wrap: clock rate %.0f Hz (want %d), %d timestamps back", st.ClockRateHz, clip.ClockRate, st.TimestampsBack)
			}
		})
	}
}
