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

// TestFaultyRelayPerClientAndDirection: the fault sees each datagram with
// its client's number and direction, and what it drops or holds is
// dropped or held for that client that way only.
func TestFaultyRelayPerClientAndDirection(t *testing.T) {
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
	const extra = 200 * time.Millisecond
	r, err := StartFaultyRelay(echo.LocalAddr().(*net.UDPAddr), 0, func(d Datagram) Fault {
		switch {
		case d.Client == 0 && !d.ToServer:
			return Fault{Extra: extra} // client 0's echoes come late
		case d.Client == 1 && d.ToServer && string(d.Data) == "drop":
			return Fault{Drop: true} // client 1's "drop" never reaches the echo
		}
		return Fault{}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var cs [2]*net.UDPConn
	for i := range cs {
		if cs[i], err = net.DialUDP("udp4", nil, r.Addr()); err != nil {
			t.Fatal(err)
		}
		defer cs[i].Close()
	}
	roundTrip := func(c *net.UDPConn, msg string) (time.Duration, bool) {
		t.Helper()
		sent := time.Now()
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		if err != nil {
			return 0, false
		}
		if got := string(buf[:n]); got != msg {
			t.Fatalf("echo %q, want %q", got, msg)
		}
		return time.Since(sent), true
	}
	// Client 0 first: it is number 0.
	if rtt, ok := roundTrip(cs[0], "slow"); !ok || rtt < extra {
		t.Errorf("client 0: round trip %s (echoed %v), want at least the extra %s", rtt, ok, extra)
	}
	if _, ok := roundTrip(cs[1], "drop"); ok {
		t.Error("client 1: the dropped datagram was echoed")
	}
	if rtt, ok := roundTrip(cs[1], "keep"); !ok || rtt >= extra {
		t.Errorf("client 1: round trip %s (echoed %v), want it neither dropped nor held", rtt, ok)
	}
}
