package netsim

import (
	"net"
	"slices"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// TestRelayDelaysEachWay: a datagram through the relay to an echo and
// back waits the relay's delay twice; none comes back sooner.
func TestRelayDelaysEachWay(t *testing.T) {
	testenv.CheckGoroutines(t)
	echo, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		for {
			n, from, err := echo.ReadFromUDP(buf)
			if err != nil {
				return
			}
			_, _ = echo.WriteToUDP(buf[:n], from)
		}
	}()
	defer func() { _ = echo.Close(); <-done }()
	const oneWay = 15 * time.Millisecond
	r, err := StartRelay(echo.LocalAddr().(*net.UDPAddr), oneWay)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := net.DialUDP("udp4", nil, r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var rtts []time.Duration
	buf := make([]byte, 64)
	for range 20 {
		sent := time.Now()
		if _, err := c.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
		rtts = append(rtts, time.Since(sent))
	}
	if fastest := slices.Min(rtts); fastest < 2*oneWay || fastest > 2*oneWay+3*time.Millisecond {
		t.Errorf("fastest round trip through the relay %s, want %s (+ scheduling)", fastest, 2*oneWay)
	}
}

func TestRelayOnlyToLoopback(t *testing.T) {
	if _, err := StartRelay(&net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 3478}, time.Millisecond); err == nil {
		t.Error("a relay to a non-loopback address started")
	}
}
