package probes

import (
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// CodecStream inspects an RTP stream of one codec without decoding it:
// that every packet's payload descriptor parses, that packets assemble
// into complete frames (a start, the marker bit at the end, no sequence
// gap, one timestamp), that keyframes come, that timestamps only move
// forward, and for audio, that they advance at the codec's clock rate.
// pion decodes nothing, so this is how a browser's encoder output is
// judged on pion's side.
type CodecStream struct {
	mime  string
	clock uint32
	video bool

	mu         sync.Mutex
	packets    int
	bytes      int64
	badPayload int // descriptor or payload that does not parse
	frames     int // complete frames
	incomplete int // frames with a gap, no start or no end
	keyframes  int
	seqGaps    int // sequence numbers missing
	reordered  int // packets older than one already seen
	tsBack     int // a new frame's timestamp not after the previous one
	firstAt    time.Time
	lastAt     time.Time
	firstTS    uint32
	tsSpan     int64 // timestamp units from the first packet to the last, unwrapped
	lastTS     uint32
	// clock samples the unwrapped timestamp against arrival time, a
	// packet each (up to maxClockSamples).
	clockAt []clockSample
	lastSeq uint16
	// The frame being assembled.
	frameOpen  bool
	frameTS    uint32
	frameStart bool
	frameGap   bool
	frameKey   bool
	width      int
	height     int
}

type clockSample struct {
	at time.Time
	ts int64
}

// maxClockSamples bounds the memory of one inspection: ten minutes of
// 20 ms audio packets.
const maxClockSamples = 30000

// clockWindow is the span each clock rate estimate covers: long enough
// that arrival jitter does not matter, short enough that a sender's stall
// (its timestamps stop while the wall clock runs) spoils few of them.
const clockWindow = 500 * time.Millisecond

// NewCodecStream inspects a stream of the codec with that MIME type and
// RTP clock rate.
func NewCodecStream(mimeType string, clockRate uint32) *CodecStream {
	return &CodecStream{mime: strings.ToLower(mimeType), clock: clockRate, video: strings.HasPrefix(strings.ToLower(mimeType), "video/")}
}

// CodecStreamStats is what a CodecStream saw.
type CodecStreamStats struct {
	Packets, BadPayloads int
	Bytes                int64
	// Frames are complete video frames, Incomplete those with a gap, no
	// start or no end, Keyframes the complete keyframes.
	Frames, Incomplete, Keyframes int
	// SeqGaps counts missing sequence numbers, Reordered late packets,
	// TimestampsBack frames that did not move the timestamp forward.
	SeqGaps, Reordered, TimestampsBack int
	// ClockRateHz is how fast the timestamps advance against arrival
	// time: the median over windows of half a second (audio: compare with
	// the codec's clock rate). 0 below one window of packets.
	ClockRateHz float64
	// Span is the arrival time from the first packet to the last.
	Span time.Duration
	// Width and Height, where a keyframe's header gives them (VP8, VP9).
	Width, Height int
}

// Add inspects one packet, as it arrived at at.
func (s *CodecStream) Add(p *rtp.Packet, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.packets == 0 {
		s.firstAt, s.firstTS, s.lastTS, s.lastSeq = at, p.Timestamp, p.Timestamp, p.SequenceNumber-1
	}
	s.packets++
	s.bytes += int64(len(p.Payload))
	s.lastAt = at
	switch d := int16(p.SequenceNumber - s.lastSeq); {
	case d <= 0:
		s.reordered++
		return
	case d > 1:
		s.seqGaps += int(d) - 1
		s.frameGap = true
	}
	s.lastSeq = p.SequenceNumber
	if d := int32(p.Timestamp - s.lastTS); d > 0 {
		s.tsSpan += int64(d)
		s.lastTS = p.Timestamp
	}
	if len(s.clockAt) < maxClockSamples {
		s.clockAt = append(s.clockAt, clockSample{at: at, ts: s.tsSpan})
	}
	start, end, key, ok := s.describe(p.Payload)
	if !ok {
		s.badPayload++
	}
	if !s.video {
		return
	}
	if s.frameOpen && p.Timestamp != s.frameTS {
		// A new timestamp without the previous frame's marker: it never ended.
		s.incomplete++
		s.frameOpen = false
	}
	if !s.frameOpen {
		if s.frames+s.incomplete > 0 && int32(p.Timestamp-s.frameTS) <= 0 {
			s.tsBack++
		}
		s.frameOpen, s.frameTS, s.frameStart, s.frameGap, s.frameKey = true, p.Timestamp, start, false, false
	}
	s.frameKey = s.frameKey || key
	if !ok {
		s.frameGap = true
	}
	if p.Marker && end {
		if s.frameStart && !s.frameGap {
			s.frames++
			if s.frameKey {
				s.keyframes++
			}
		} else {
			s.incomplete++
		}
		s.frameOpen = false
	}
}

// describe parses a payload's descriptor: whether the packet starts a
// frame, may end one, belongs to a keyframe, and parsed at all.
func (s *CodecStream) describe(payload []byte) (start, end, key, ok bool) {
	switch s.mime {
	case "video/vp8":
		var p codecs.VP8Packet
		body, err := p.Unmarshal(payload)
		if err != nil || len(body) == 0 {
			return false, false, false, false
		}
		start = p.S == 1 && p.PID == 0
		// The VP8 payload header's P bit is 0 on keyframes (RFC 6386 §9.1),
		// whose header then carries the size after the start code.
		if start && body[0]&1 == 0 {
			key = true
			if len(body) >= 10 && body[3] == 0x9d && body[4] == 0x01 && body[5] == 0x2a {
				s.width = int(body[6]) | int(body[7]&0x3f)<<8
				s.height = int(body[8]) | int(body[9]&0x3f)<<8
			}
		}
		return start, true, key, true
	case "video/vp9":
		var p codecs.VP9Packet
		if _, err := p.Unmarshal(payload); err != nil {
			return false, false, false, false
		}
		if p.V && len(p.Width) > 0 && len(p.Height) > 0 {
			s.width, s.height = int(p.Width[len(p.Width)-1]), int(p.Height[len(p.Height)-1])
		}
		// Not inter-picture predicted, at the base spatial layer: a keyframe.
		return p.B, p.E, p.B && !p.P && p.SID == 0, true
	case "video/av1":
		// A depacketizer per packet: fragments are not joined (so order
		// does not matter), whole OBUs in the packet are parsed.
		var p codecs.AV1Depacketizer
		if _, err := p.Unmarshal(payload); err != nil {
			return false, false, false, false
		}
		// N starts a coded video sequence: a keyframe with its sequence header.
		return !p.Z, !p.Y, p.N, true
	case "video/h264":
		return describeH264(payload)
	case "audio/pcmu", "audio/pcma", "audio/g722":
		// One byte per 8 kHz tick (G.722: two 16 kHz samples a byte).
		return true, true, false, len(payload) > 0
	case "audio/opus":
		var p codecs.OpusPacket
		_, err := p.Unmarshal(payload)
		return true, true, false, err == nil && len(payload) > 0
	}
	return true, true, false, len(payload) > 0
}

// describeH264 reads the NAL unit header (RFC 6184): single NAL units,
// STAP-A aggregates, FU-A fragments with their start and end bits.
func describeH264(payload []byte) (start, end, key, ok bool) {
	if len(payload) < 1 || payload[0]&0x80 != 0 {
		return false, false, false, false
	}
	isKey := func(t byte) bool { return t == 5 || t == 7 }
	switch t := payload[0] & 0x1f; {
	case t >= 1 && t <= 23:
		return true, true, isKey(t), true
	case t == 24: // STAP-A: 16-bit sizes, each NAL within the payload
		for i := 1; i+2 <= len(payload); {
			n := int(payload[i])<<8 | int(payload[i+1])
			if n == 0 || i+2+n > len(payload) {
				return false, false, false, false
			}
			key = key || isKey(payload[i+2]&0x1f)
			i += 2 + n
		}
		return true, true, key, true
	case t == 28: // FU-A
		if len(payload) < 3 {
			return false, false, false, false
		}
		fu := payload[1]
		return fu&0x80 != 0, fu&0x40 != 0, isKey(fu & 0x1f), fu&0xc0 != 0xc0
	}
	return false, false, false, false
}

// Stats returns what the stream showed so far.
func (s *CodecStream) Stats() CodecStreamStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := CodecStreamStats{Packets: s.packets, BadPayloads: s.badPayload, Bytes: s.bytes, Frames: s.frames, Incomplete: s.incomplete,
		Keyframes: s.keyframes, SeqGaps: s.seqGaps, Reordered: s.reordered, TimestampsBack: s.tsBack,
		Span: s.lastAt.Sub(s.firstAt), Width: s.width, Height: s.height}
	st.ClockRateHz = medianRate(s.clockAt)
	return st
}

// ClockErrorPct is how far ClockRateHz is from the codec's clock rate,
// in percent of it.
func (st CodecStreamStats) ClockErrorPct(clockRate uint32) float64 {
	if clockRate == 0 {
		return 0
	}
	return 100 * math.Abs(st.ClockRateHz-float64(clockRate)) / float64(clockRate)
}

// medianRate is the median of the timestamp rates over every window that
// starts at a packet and ends at the first packet clockWindow later.
func medianRate(samples []clockSample) float64 {
	var rates []float64
	j := 0
	for i := range samples {
		for j < len(samples) && samples[j].at.Sub(samples[i].at) < clockWindow {
			j++
		}
		if j == len(samples) {
			break
		}
		rates = append(rates, float64(samples[j].ts-samples[i].ts)/samples[j].at.Sub(samples[i].at).Seconds())
	}
	if len(rates) == 0 {
		return 0
	}
	slices.Sort(rates)
	return rates[len(rates)/2]
}
