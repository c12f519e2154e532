package netsim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"
)

// EchoRTT measures the simulated network's own round trip between the two
// peers with plain UDP: n datagrams from the offerer to an echo on the
// answerer, one every interval, timed with this process's clock. It is the
// independent yardstick for a probe's RTT: twice the one-way delay plus
// whatever the simulator itself costs. Lost echoes are left out.
func (l *Lab) EchoRTT(ctx context.Context, n int, interval time.Duration) ([]time.Duration, error) {
	// Through NATs neither peer could reach the other's echo unasked.
	if l.spec.NAT != [2]NAT{NATNone, NATNone} {
		return nil, errors.New("EchoRTT needs nat=none (peers reachable at their public addresses)")
	}
	nets := l.Nets()
	echo, err := nets[1].ListenPacket("udp4", "0.0.0.0:0")
	if err != nil {
		return nil, err
	}
	defer echo.Close()
	c, err := nets[0].ListenPacket("udp4", "0.0.0.0:0")
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() {
		_ = echo.SetDeadline(time.Now())
		_ = c.SetDeadline(time.Now())
	})
	defer stop()
	port := func(pc net.PacketConn) int { return pc.LocalAddr().(*net.UDPAddr).Port }
	toEcho := &net.UDPAddr{IP: net.ParseIP(publicIP(1)), Port: port(echo)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		for {
			k, from, err := echo.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = echo.WriteTo(buf[:k], from)
		}
	}()
	defer func() { _ = echo.Close(); <-done }()

	got := make(chan time.Duration, n)
	readDone := make(chan struct{})
	base := time.Now()
	go func() {
		defer close(readDone)
		buf := make([]byte, 64)
		for {
			k, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			if k == 8 {
				got <- time.Since(base) - time.Duration(binary.BigEndian.Uint64(buf)) //nolint:gosec // our own timestamp
			}
		}
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	b := make([]byte, 8)
	for i := range n {
		binary.BigEndian.PutUint64(b, uint64(time.Since(base)))
		if _, err := c.WriteTo(b, toEcho); err != nil {
			return nil, fmt.Errorf("echo %d: %w", i, err)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	// The last echoes are at most a round trip and the jitter away.
	linger := time.NewTimer(2*(l.spec.Delay+l.spec.Jitter) + 200*time.Millisecond)
	defer linger.Stop()
	var out []time.Duration
	for len(out) < n {
		select {
		case d := <-got:
			out = append(out, d)
		case <-linger.C:
			n = len(out)
		case <-ctx.Done():
			n = len(out)
		}
	}
	_ = c.Close()
	<-readDone
	return out, nil
}

func publicIP(i int) string { return fmt.Sprintf("198.51.100.%d", 20+i) }
