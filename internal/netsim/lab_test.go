package netsim

import (
	"encoding/binary"
	"errors"
	"math"
	"net"
	"os"
	"slices"
	"testing"
	"time"
)

// arrival is one datagram the receiver got: its sequence number, when it
// was sent and when it arrived (one clock: both peers are in this process).
type arrival struct {
	seq      int
	sent, at time.Time
}

func (a arrival) delay() time.Duration { return a.at.Sub(a.sent) }

// sendAcross starts a lab for spec and sends n datagrams of size bytes
// (at least 14) from the offerer's network to the answerer's, every
// spacing (0: all at once), and returns what arrived, in arrival order.
func sendAcross(t *testing.T, spec string, n, size int, spacing time.Duration) []arrival {
	t.Helper()
	s, err := ParseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	lab, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Close()
	nets := lab.Nets()
	rx, err := nets[1].ListenPacket("udp4", "10.0.2.2:5000")
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	tx, err := nets[0].ListenPacket("udp4", "10.0.1.2:6000")
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	// Open the receiver's NAT towards the sender first, and wait for it
	// to have left (it crosses the answerer's egress too).
	if _, err := rx.WriteTo([]byte("hello"), &net.UDPAddr{IP: net.ParseIP("198.51.100.20"), Port: 6000}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(s.Delay + s.Jitter + 20*time.Millisecond) // no event marks the NAT binding
	dst := &net.UDPAddr{IP: net.ParseIP("198.51.100.21"), Port: 5000}
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		b := make([]byte, size)
		for i := range n {
			// An RTP-looking header (the loss filter's RTP class), the
			// sequence number and the send time.
			b[0], b[1] = 0x80, 96
			binary.BigEndian.PutUint32(b[2:6], uint32(i)) //nolint:gosec // i < n
			binary.BigEndian.PutUint64(b[6:14], uint64(time.Now().UnixNano()))
			_, _ = tx.WriteTo(b, dst)
			if spacing > 0 {
				time.Sleep(spacing) // pacing, not waiting for anything
			}
		}
	}()
	var got []arrival
	buf := make([]byte, size+100)
	// Wait for stragglers only once the sender is done: on a loaded
	// machine the sender itself may stall longer than any network delay.
	for {
		_ = rx.SetReadDeadline(time.Now().Add(500*time.Millisecond + s.Delay + s.Jitter))
		k, _, err := rx.ReadFrom(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			select {
			case <-sent:
			default:
				continue
			}
		}
		if err != nil {
			break
		}
		if k == size {
			got = append(got, arrival{
				seq:  int(binary.BigEndian.Uint32(buf[2:6])),
				sent: time.Unix(0, int64(binary.BigEndian.Uint64(buf[6:14]))), //nolint:gosec // our own timestamp
				at:   time.Now(),
			})
		}
	}
	return got
}

// TestLabImpairment checks the delay and loss the network applies.
func TestLabImpairment(t *testing.T) {
	for _, tc := range []struct {
		spec  string
		delay time.Duration
		loss  float64
	}{
		{"delay=20ms", 20 * time.Millisecond, 0},
		{"delay=5ms,loss=3%", 5 * time.Millisecond, 3},
		{"delay=5ms,loss=12.5%", 5 * time.Millisecond, 12.5},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			const n = 400
			got := sendAcross(t, tc.spec, n, 14, time.Millisecond)
			loss := float64(n-len(got)) / n * 100
			if math.Abs(loss-tc.loss) > 0.5 {
				t.Errorf("lost %.2f%% of %d datagrams, want %.2f%%", loss, n, tc.loss)
			}
			if len(got) == 0 {
				t.Fatal("nothing arrived")
			}
			minDelay := got[0].delay()
			for _, a := range got {
				minDelay = min(minDelay, a.delay())
			}
			if minDelay < tc.delay || minDelay > tc.delay+3*time.Millisecond {
				t.Errorf("fastest datagram took %s, want %s (+ scheduling)", minDelay, tc.delay)
			}
		})
	}
}

// TestEgressJitterIsUniformPerDatagram: jitter=J gives every datagram
// its own extra delay, uniform on [0, J] and independent of its
// neighbours: the quartiles of the extra delay are J/4, J/2 and 3J/4, and
// the mean absolute difference between consecutive datagrams' delays is
// J/3 (it would be near 0 if the whole queue stalled at once, as vnet's
// MaxJitter does). 20000 draws: 2 % of J covers the sampling error.
func TestEgressJitterIsUniformPerDatagram(t *testing.T) {
	const (
		delay  = 10 * time.Millisecond
		jitter = 20 * time.Millisecond
		n      = 20000
	)
	e := newEgress(delay, jitter, 0, 1)
	defer e.close()
	now := time.Now()
	extra := make([]time.Duration, n)
	var sumDiff time.Duration
	for i := range extra {
		due, ok := e.due(now, 100)
		if !ok {
			t.Fatal("dropped without a rate limit")
		}
		extra[i] = due.Sub(now) - delay
		if extra[i] < 0 || extra[i] > jitter {
			t.Fatalf("extra delay %s outside [0, %s]", extra[i], jitter)
		}
		if i > 0 {
			sumDiff += (extra[i] - extra[i-1]).Abs()
		}
	}
	allow := jitter * 2 / 100
	if mad, want := sumDiff/(n-1), jitter/3; (mad - want).Abs() > allow {
		t.Errorf("mean |delay difference| of consecutive datagrams = %s, want %s (J/3) ± %s", mad, want, allow)
	}
	slices.Sort(extra)
	for _, q := range []float64{0.25, 0.5, 0.75} {
		got, want := extra[int(q*n)], time.Duration(q*float64(jitter))
		if (got - want).Abs() > allow {
			t.Errorf("quantile %.2f of the extra delay = %s, want %s ± %s", q, got, want, allow)
		}
	}
}

// TestEgressRate: rate=R serialises datagrams at R bits per second behind
// a queue of 250 ms: a burst leaves size*8/R apart, and what does not fit
// in the queue is dropped.
func TestEgressRate(t *testing.T) {
	const size = 1000
	e := newEgress(5*time.Millisecond, 0, 2e6, 1)
	defer e.close()
	now := time.Now()
	spacing := 4 * time.Millisecond // 8000 bits at 2 Mbit/s
	kept := 0
	for i := range 200 {
		due, ok := e.due(now, size)
		if !ok {
			continue
		}
		kept++
		if want := now.Add(time.Duration(i+1)*spacing + 5*time.Millisecond); !due.Equal(want) {
			t.Fatalf("datagram %d leaves at +%s, want +%s", i, due.Sub(now), want.Sub(now))
		}
	}
	// The one on the wire and 62 queued behind it (250 ms / 4 ms).
	if kept != 63 {
		t.Errorf("%d of a 200-datagram burst kept, want 63", kept)
	}
	// Once the queue has drained, datagrams pass again.
	if _, ok := e.due(now.Add(time.Second), size); !ok {
		t.Error("still dropping after the queue drained")
	}
}

// TestLabDeliversWhenDue: the datagrams cross the running lab at their
// due times: none early, and the typical one (the median) at delay + J/2,
// no more than 2 ms early (the draws) and 10 ms late (timers of a loaded
// two-core machine under the race detector, never early).
func TestLabDeliversWhenDue(t *testing.T) {
	const (
		delay  = 10 * time.Millisecond
		jitter = 20 * time.Millisecond
	)
	got := sendAcross(t, "delay=10ms,jitter=20ms", 300, 14, 2*time.Millisecond)
	if len(got) < 297 {
		t.Fatalf("%d of 300 datagrams arrived", len(got))
	}
	var d []time.Duration
	for _, a := range got {
		d = append(d, a.delay())
	}
	slices.Sort(d)
	if d[0] < delay {
		t.Errorf("a datagram arrived after %s, before the %s delay", d[0], delay)
	}
	if med, want := d[len(d)/2], delay+jitter/2; med < want-2*time.Millisecond || med > want+10*time.Millisecond {
		t.Errorf("median delay %s, want %s (-2 ms, +10 ms)", med, want)
	}
}
