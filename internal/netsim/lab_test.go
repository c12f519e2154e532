package netsim

import (
	"encoding/binary"
	"errors"
	"math"
	"net"
	"os"
	"testing"
	"time"
)

// TestLabImpairment sends UDP datagrams from one simulated peer to the
// other and checks the delay and loss the network applies.
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
			t.Parallel()
			spec, err := ParseSpec(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			lab, err := Start(spec)
			if err != nil {
				t.Fatal(err)
			}
			defer lab.Close()
			rx, err := lab.nets[1].ListenPacket("udp4", "10.0.2.2:5000")
			if err != nil {
				t.Fatal(err)
			}
			defer rx.Close()
			tx, err := lab.nets[0].ListenPacket("udp4", "10.0.1.2:6000")
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Close()
			// Open the receiver's NAT towards the sender first.
			if _, err := rx.WriteTo([]byte("hello"), &net.UDPAddr{IP: net.ParseIP("198.51.100.20"), Port: 6000}); err != nil {
				t.Fatal(err)
			}
			const n = 400
			dst := &net.UDPAddr{IP: net.ParseIP("198.51.100.21"), Port: 5000}
			go func() {
				for range n {
					// An RTP-looking header (the loss filter's RTP class),
					// then the send time.
					b := binary.BigEndian.AppendUint64([]byte{0x80, 96}, uint64(time.Now().UnixNano()))
					_, _ = tx.WriteTo(b, dst)
					time.Sleep(time.Millisecond) // pacing, not waiting for anything
				}
			}()
			var got int
			var delays []time.Duration
			buf := make([]byte, 64)
			for {
				_ = rx.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
				k, _, err := rx.ReadFrom(buf)
				if errors.Is(err, os.ErrDeadlineExceeded) {
					break
				}
				if err != nil {
					break
				}
				if k == 10 {
					sent := int64(binary.BigEndian.Uint64(buf[2:10]))
					delays = append(delays, time.Duration(time.Now().UnixNano()-sent))
					got++
				}
			}
			loss := float64(n-got) / n * 100
			if math.Abs(loss-tc.loss) > 0.5 {
				t.Errorf("lost %.2f%% of %d datagrams, want %.2f%%", loss, n, tc.loss)
			}
			if len(delays) == 0 {
				t.Fatal("nothing arrived")
			}
			minDelay := delays[0]
			for _, d := range delays {
				minDelay = min(minDelay, d)
			}
			if minDelay < tc.delay || minDelay > tc.delay+3*time.Millisecond {
				t.Errorf("fastest datagram took %s, want %s (+ scheduling)", minDelay, tc.delay)
			}
		})
	}
}
