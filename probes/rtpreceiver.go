package probes

import (
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// RTPReceiver counts what arrives on a remote track: packets, bytes,
// video frames, packets lost (missing sequence numbers) and the RFC 3550
// interarrival jitter. The media checks and the browser's pion call
// partner count alike with it.
type RTPReceiver struct {
	// Video counts frames too (the RTP marker bit ends one).
	Video bool

	mu      sync.Mutex
	packets int
	frames  int
	bytes   int64
	first   time.Time
	firstTS uint32
	last    time.Time
	// Extended sequence numbers: the first and the highest seen.
	firstSeq, maxSeq int64
	// jitter is J of RFC 3550 §6.4.1 in seconds; transit the previous
	// packet's relative transit time in seconds.
	jitter, transit float64
	// firstFrame is when the first complete video frame (marker bit)
	// arrived, lastFrame the latest.
	firstFrame, lastFrame time.Time
	// onPacket, when set, sees each packet's payload as it arrives (a
	// loopback through a media server matches payloads to send times).
	onPacket func(payload []byte, at time.Time)
}

// Read counts the track's packets until it ends.
func (r *RTPReceiver) Read(tr *webrtc.TrackRemote) {
	clock := float64(tr.Codec().ClockRate)
	if clock <= 0 {
		clock = 90000
	}
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		now := time.Now()
		r.arrive(now, pkt.SequenceNumber, pkt.Timestamp, len(pkt.Payload)+pkt.Header.MarshalSize(), pkt.Marker, clock)
		if r.onPacket != nil {
			r.onPacket(pkt.Payload, now)
		}
	}
}

// arrive counts one packet of size bytes arriving at now.
func (r *RTPReceiver) arrive(now time.Time, sequence uint16, ts uint32, size int, marker bool, clock float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.packets == 0 {
		r.first, r.firstTS = now, ts
		r.firstSeq, r.maxSeq = int64(sequence), int64(sequence)
	} else {
		// Extend the 16-bit sequence number next to the highest seen.
		seq := r.maxSeq&^0xffff | int64(sequence)
		switch {
		case seq < r.maxSeq-0x8000:
			seq += 0x10000
		case seq > r.maxSeq+0x8000:
			seq -= 0x10000
		}
		r.maxSeq = max(r.maxSeq, seq)
	}
	r.last = now
	// Transit relative to the first packet: arrival time minus the
	// sender's clock, both in seconds; the constant offset cancels in D.
	// The timestamp difference is signed (RFC 3550 A.8): a packet sent
	// before the first one to arrive, reordered, is behind it.
	transit := now.Sub(r.first).Seconds() - float64(int32(ts-r.firstTS))/clock //nolint:gosec // wrap-around is the point
	if r.packets > 0 {
		d := transit - r.transit
		if d < 0 {
			d = -d
		}
		r.jitter += (d - r.jitter) / 16
	}
	r.transit = transit
	r.packets++
	r.bytes += int64(size)
	if marker {
		r.frames++
		if r.firstFrame.IsZero() {
			r.firstFrame = now
		}
		r.lastFrame = now
	}
}

// JitterMs is the current RFC 3550 jitter in milliseconds.
func (r *RTPReceiver) JitterMs() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return round3(r.jitter * 1000)
}

// Counts are the packets and (video) frames received so far.
func (r *RTPReceiver) Counts() (packets, frames int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.packets, r.frames
}

// RTPCounts is a snapshot of an RTPReceiver.
type RTPCounts struct {
	Packets, Frames int
	Bytes           int64
	// Lost are the sequence numbers missing between the first and the
	// highest received (a packet still in flight counts as lost).
	Lost     int
	JitterMs float64
	// Span is the time from the first packet to the last.
	Span time.Duration
}

// LossPct is Lost as a share of the packets expected.
func (c RTPCounts) LossPct() float64 { return lossPct(uint64(c.Packets), int64(c.Lost)) }

// Snapshot returns the counts so far.
func (r *RTPReceiver) Snapshot() RTPCounts {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := RTPCounts{Packets: r.packets, Frames: r.frames, Bytes: r.bytes, JitterMs: round3(r.jitter * 1000), Span: r.last.Sub(r.first)}
	if r.packets > 0 {
		c.Lost = max(0, int(r.maxSeq-r.firstSeq+1)-r.packets)
	}
	return c
}
