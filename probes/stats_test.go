package probes

import (
	"math"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

func TestLossPct(t *testing.T) {
	for _, tc := range []struct {
		sent, received int
		want           float64
	}{
		{0, 0, 0},
		{5, 5, 0},
		{5, 0, 100},
		{20, 19, 5},
		{3, 2, 33.33}, // two decimals
		{400, 392, 2},
		{400, 388, 3},
	} {
		if got := LossPct(tc.sent, tc.received); got != tc.want {
			t.Errorf("LossPct(%d sent, %d received) = %v, want %v", tc.sent, tc.received, got, tc.want)
		}
	}
}

// lossPct is the receiver's view: lost of (received + lost); duplicates
// (negative lost) count as none lost.
func TestReceiverLossPct(t *testing.T) {
	for _, tc := range []struct {
		received uint64
		lost     int64
		want     float64
	}{
		{0, 0, 0},
		{245, 5, 2},
		{97, 3, 3},
		{2, 1, 33.333},
		{100, -2, 0},
		{0, 4, 100},
	} {
		if got := lossPct(tc.received, tc.lost); got != tc.want {
			t.Errorf("lossPct(%d received, %d lost) = %v, want %v", tc.received, tc.lost, got, tc.want)
		}
	}
}

func TestDurations(t *testing.T) {
	d := Durations{5 * time.Millisecond, time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond, 100 * time.Millisecond}
	for _, tc := range []struct {
		p    float64
		want float64
	}{{0, 1}, {50, 3}, {95, 100}, {100, 100}, {34, 3}, {33, 2}} {
		if got := d.Percentile(tc.p); got != tc.want {
			t.Errorf("Percentile(%v) = %v, want %v (nearest rank)", tc.p, got, tc.want)
		}
	}
	if got := d.Median(); got != 3.5 {
		t.Errorf("Median of an even count = %v, want 3.5 (mean of the middle two)", got)
	}
	if got := d[:5].Median(); got != 3 {
		t.Errorf("Median of an odd count = %v, want 3", got)
	}
	if d[0] != 5*time.Millisecond {
		t.Error("Percentile or Median sorted the caller's slice")
	}
	if got := (Durations{}).Median() + (Durations{}).Percentile(50); got != 0 {
		t.Errorf("empty set = %v, want 0", got)
	}
	if got := (Durations{1234567 * time.Nanosecond}).Median(); got != 1.235 {
		t.Errorf("1234567 ns = %v ms, want 1.235 (microsecond resolution)", got)
	}
	var m Measurement
	d.Record(&m, "rtt")
	for k, want := range map[string]float64{"rtt_min_ms": 1, "rtt_median_ms": 3.5, "rtt_p95_ms": 100, "rtt_max_ms": 100} {
		if m.Metrics[k] != want {
			t.Errorf("Record: %s = %v, want %v", k, m.Metrics[k], want)
		}
	}
	var empty Measurement
	Durations{}.Record(&empty, "rtt")
	if len(empty.Metrics) != 0 {
		t.Errorf("Record of nothing wrote %v", empty.Metrics)
	}
}

func TestRound3(t *testing.T) {
	for in, want := range map[float64]float64{1.2344: 1.234, 1.2345: 1.235, 0: 0, 42: 42, 2.0004: 2} {
		if got := round3(in); got != want {
			t.Errorf("round3(%v) = %v, want %v", in, got, want)
		}
	}
}

// compactNTP is the middle 32 bits of the NTP timestamp: seconds since
// 1900 in the high 16 bits, 1/65536 s in the low 16.
func TestCompactNTP(t *testing.T) {
	at := time.Unix(1, int64(time.Second/2))
	want := uint32((1+2208988800)<<16&0xffffffff) | 0x8000
	if got := compactNTP(at); got != want {
		t.Errorf("compactNTP = %#x, want %#x", got, want)
	}
	// A round trip computed from it: 250 ms of arrival - LSR - DLSR.
	var r rttSamples
	lsr := compactNTP(at)
	dlsr := uint32(65536 / 10) // 100 ms held at the receiver
	r.add(at.Add(350*time.Millisecond), rrWith(lsr, dlsr))
	got := r.get()
	if len(got) != 1 || got[0] < 249*time.Millisecond || got[0] > 251*time.Millisecond {
		t.Errorf("RTT samples %v, want one of 250 ms", got)
	}
}

func rrWith(lsr, dlsr uint32) []rtcp.Packet {
	return []rtcp.Packet{&rtcp.ReceiverReport{Reports: []rtcp.ReceptionReport{{LastSenderReport: lsr, Delay: dlsr}}}}
}

// TestReceiverJitter: the RFC 3550 interarrival jitter of packets 20 ms
// apart (960 ticks of the 48 kHz clock).
func TestReceiverJitter(t *testing.T) {
	const clock = 48000
	start := time.Unix(1000, 0)
	feed := func(delays []time.Duration, order []int) float64 {
		var r RTPReceiver
		for _, i := range order {
			r.arrive(start.Add(time.Duration(i)*20*time.Millisecond+delays[i]), uint16(i), uint32(5000+960*i), 100, false, clock) //nolint:gosec // small i
		}
		return r.JitterMs()
	}
	// A constant delay is no jitter, whatever the order of arrival: the
	// first packet to arrive may be a later one (timestamps behind it
	// are negative differences, not 2^32 ticks ahead).
	flat := make([]time.Duration, 8)
	for i := range flat {
		flat[i] = 30 * time.Millisecond
	}
	if got := feed(flat, []int{0, 1, 2, 3, 4, 5, 6, 7}); got != 0 {
		t.Errorf("constant delay: jitter %v ms, want 0", got)
	}
	if got := feed(flat, []int{1, 0, 2, 3, 5, 4, 6, 7}); got != 0 {
		t.Errorf("constant delay, reordered: jitter %v ms, want 0", got)
	}
	// Delays alternating 0 and 16 ms: |D| = 16 ms for every packet after
	// the first, so J = 16 * (1 - (15/16)^(n-1)).
	alt := make([]time.Duration, 33)
	order := make([]int, len(alt))
	for i := range alt {
		alt[i] = time.Duration(i%2) * 16 * time.Millisecond
		order[i] = i
	}
	want := round3(16 * (1 - math.Pow(15.0/16, float64(len(alt)-1))))
	if got := feed(alt, order); got != want {
		t.Errorf("alternating 0/16 ms: jitter %v ms, want %v", got, want)
	}
}
