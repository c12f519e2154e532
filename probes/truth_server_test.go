package probes_test

import (
	"context"
	"encoding/binary"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/netsim"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

// TestTruthServerRTT: STUN and TURN over real sockets, through a relay on
// loopback that delays every datagram by D each way (netsim.Relay). A
// STUN Binding crosses it twice: 2D. A relayed TURN echo crosses it four
// times (A → server, server → B, B → server, server → A): 4D. Each plus
// the relay's own cost, measured with a plain UDP echo through another
// relay and this process's clock, and bounded by maxBaseline per round
// trip. Allowances as for calls: the fastest within ±(1.5 ms + 1 %), the
// median at most 5 ms + 10 % above.
func TestTruthServerRTT(t *testing.T) {
	testenv.CheckGoroutines(t)
	srv := startEmbedded(t)
	server, err := net.ResolveUDPAddr("udp4", srv.Servers()[0].Addr())
	if err != nil {
		t.Fatal(err)
	}
	for _, oneWay := range []time.Duration{10 * time.Millisecond, 40 * time.Millisecond} {
		t.Run(oneWay.String(), func(t *testing.T) {
			t.Parallel()
			attempt(t, func(ck *checker) {
				base := relayBaseline(t, ck, oneWay)
				relay, err := netsim.StartRelay(server, oneWay)
				if err != nil {
					t.Fatal(err)
				}
				defer relay.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()

				stunTarget := target(t, "stun:"+relay.Addr().String(), probes.UDP)
				m := probes.STUN(ctx, stunTarget, probes.STUNConfig{Count: 50})
				if m.Err != nil {
					t.Fatal(m.Err)
				}
				want := 2*msOf(oneWay) + base
				a := rttAllowance(want)
				ck.within("stun rtt_min_ms", metric(m, "rtt_min_ms"), want-a, want+a, "2 x D + relay: ± 1.5 ms + 1 %")
				ck.within("stun rtt_median_ms", metric(m, "rtt_median_ms"), want-a, want+a+medianAllowance(want), "2 x D + relay, + load")

				tt := turnTarget(t, srv, probes.UDP)
				tt.Server.URI.Host, tt.Server.URI.Port = "127.0.0.1", relay.Addr().Port
				m = probes.TURN(ctx, tt, probes.TURNConfig{Packets: 30, SkipIPv6: true})
				if m.Err != nil {
					t.Fatal(m.Err)
				}
				want = 4*msOf(oneWay) + 2*base
				a = rttAllowance(want)
				ck.within("turn rtt_min_ms", metric(m, "rtt_min_ms"), want-a, want+a, "4 x D + relay: ± 1.5 ms + 1 %")
				ck.within("turn rtt_median_ms", metric(m, "rtt_median_ms"), want-a, want+a+medianAllowance(want), "4 x D + relay, + load")
				ck.within("turn loss_pct", metric(m, "loss_pct"), 0, 0, "nothing dropped")
			})
		})
	}
}

// relayBaseline is what a relay with oneWay delay costs over 2 x oneWay
// per round trip, in ms: the fastest of 40 plain UDP echoes through one,
// timed with this process's clock, held under maxBaseline.
func relayBaseline(t *testing.T, ck *checker, oneWay time.Duration) float64 {
	t.Helper()
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
	relay, err := netsim.StartRelay(echo.LocalAddr().(*net.UDPAddr), oneWay)
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	c, err := net.DialUDP("udp4", nil, relay.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var rtts []time.Duration
	buf := make([]byte, 64)
	for i := range 40 {
		sent := time.Now()
		_, _ = c.Write(binary.BigEndian.AppendUint32(nil, uint32(i))) //nolint:gosec // i < 40
		_ = c.SetReadDeadline(time.Now().Add(2*oneWay + time.Second))
		for {
			n, err := c.Read(buf)
			if err != nil {
				t.Fatalf("echo %d through the relay: %v", i, err)
			}
			if n == 4 && binary.BigEndian.Uint32(buf) == uint32(i) { //nolint:gosec // i < 40
				rtts = append(rtts, time.Since(sent))
				break
			}
		}
	}
	base := slices.Min(rtts) - 2*oneWay
	if base < 0 || base > maxBaseline {
		ck.failf("the relay's own round trip is %s over the injected %s: want 0..%s", base, 2*oneWay, maxBaseline)
	}
	t.Logf("relay baseline %s per round trip", base)
	return msOf(base)
}
