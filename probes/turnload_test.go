package probes_test

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/netsim"
	"github.com/rtcprobe/rtcprobe/probes"
)

// rtpSeq is the sequence number of a load call's RTP packet in a
// ChannelData datagram, or false for anything else.
func rtpSeq(p []byte) (uint16, bool) {
	const channelHeader = 4
	if len(p) < channelHeader+4 || p[0]&0xc0 != 0x40 {
		return 0, false
	}
	return binary.BigEndian.Uint16(p[channelHeader+2:]), true
}

// TestTURNLoadAllocPercentiles: the first request of every fourth client
// of the server is held 200 ms on the way (5 of the 20 allocations of 10
// calls): the median allocation is fast, the 95th percentile one of the
// held.
func TestTURNLoadAllocPercentiles(t *testing.T) {
	const held = 200 * time.Millisecond
	var (
		mu    sync.Mutex
		asked = map[int]bool{}
	)
	tt, _ := faultyTURN(t, func(d netsim.Datagram) netsim.Fault {
		if !d.ToServer || d.Client%4 != 3 {
			return netsim.Fault{}
		}
		mu.Lock()
		defer mu.Unlock()
		if asked[d.Client] {
			return netsim.Fault{}
		}
		asked[d.Client] = true
		return netsim.Fault{Extra: held} // under the 250 ms retransmission timeout
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m := probes.TURNLoad(ctx, tt, probes.LoadConfig{Calls: 10, Duration: 200 * time.Millisecond})
	if m.Err != nil {
		t.Fatal(m.Err)
	}
	if got := metric(m, "calls_ok"); got != 10 {
		t.Fatalf("calls_ok %v, want 10", got)
	}
	t.Logf("alloc p50 %v p95 %v p99 %v ms", metric(m, "alloc_p50_ms"), metric(m, "alloc_p95_ms"), metric(m, "alloc_p99_ms"))
	heldMs := float64(held / time.Millisecond)
	if p50 := metric(m, "alloc_p50_ms"); !(p50 < heldMs) {
		t.Errorf("alloc_p50_ms %v, want under %v: 15 of 20 allocations were not held", p50, heldMs)
	}
	for _, name := range []string{"alloc_p95_ms", "alloc_p99_ms"} {
		if v := metric(m, name); !(v >= heldMs) {
			t.Errorf("%s %v, want at least %v: 5 of 20 allocations were held", name, v, heldMs)
		}
	}
}

// TestTURNLoadRelayedPPS: a relay in front of the server loses every odd
// packet on its way in: of 2 calls × 2 ends × 50 packets in 1 s, 100
// arrive. relayed_pps is what arrived per second, not what was sent.
func TestTURNLoadRelayedPPS(t *testing.T) {
	tt, _ := faultyTURN(t, func(d netsim.Datagram) netsim.Fault {
		seq, ok := rtpSeq(d.Data)
		return netsim.Fault{Drop: ok && d.ToServer && seq%2 == 1}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m := probes.TURNLoad(ctx, tt, probes.LoadConfig{Calls: 2, Duration: time.Second, Interval: 20 * time.Millisecond})
	if m.Err != nil {
		t.Fatal(m.Err)
	}
	if got := metric(m, "packets_sent"); got != 200 {
		t.Fatalf("packets_sent %v, want 200", got)
	}
	// On a busy machine a straggler may miss the readers' wait.
	got := metric(m, "packets_received")
	if got > 100 || got < 90 {
		t.Errorf("packets_received %v, want 100 (the even half)", got)
	}
	if pps := metric(m, "relayed_pps"); pps != got {
		t.Errorf("relayed_pps %v, want %v: the packets that arrived in the 1 s", pps, got)
	}
}

// TestTURNLoadJitterBothEnds: a call's jitter is the worse of its two
// ends'. The relay holds every odd packet 10 ms on its way to the first
// end of one call and to the second end of the other (calls set up one
// at a time: clients 0 and 1 are one call's ends, 2 and 3 the other's).
// Packets 20 ms apart so arrive in order with transits alternating 0 and
// 10 ms: each call has one end whose RFC 3550 jitter approaches 10 ms,
// and one near 0.
func TestTURNLoadJitterBothEnds(t *testing.T) {
	const extra = 10 * time.Millisecond
	tt, _ := faultyTURN(t, func(d netsim.Datagram) netsim.Fault {
		seq, ok := rtpSeq(d.Data)
		if ok && !d.ToServer && (d.Client == 0 || d.Client == 3) && seq%2 == 1 {
			return netsim.Fault{Extra: extra}
		}
		return netsim.Fault{}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m := probes.TURNLoad(ctx, tt, probes.LoadConfig{Calls: 2, Duration: 2 * time.Second, Interval: 20 * time.Millisecond, SetupConcurrency: 1})
	if m.Err != nil {
		t.Fatal(m.Err)
	}
	t.Logf("jitter p50 %v max %v ms", metric(m, "jitter_p50_ms"), metric(m, "jitter_max_ms"))
	// jitter_p50_ms is the lower of the two calls' (nearest rank).
	for _, name := range []string{"jitter_p50_ms", "jitter_max_ms"} {
		if v := metric(m, name); !(v >= 7 && v <= 20) {
			t.Errorf("%s %v, want about 10 (7..20): each call has one end receiving 10 ms jitter", name, v)
		}
	}
}
