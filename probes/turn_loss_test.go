package probes_test

import (
	"context"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/netsim"
	"github.com/rtcprobe/rtcprobe/probes"
)

// Clients of a relay in front of the server, numbered as they first send:
// the TURN probe's relay A allocates before relay B dials.
const (
	clientA = 0
	clientB = 1
)

// relayedSeq is the probe's sequence number in a ChannelData datagram of
// the TURN echo (channel header, run token, sequence number), or false
// for anything else (STUN, or another payload).
func relayedSeq(p []byte, tokenLen int) (uint32, bool) {
	const channelHeader = 4
	if len(p) < channelHeader+tokenLen+4 || p[0]&0xc0 != 0x40 {
		return 0, false
	}
	return binary.BigEndian.Uint32(p[channelHeader+tokenLen:]), true
}

// faultyTURN puts a relay with fault in front of the embedded server's
// UDP TURN listener and names the TURN endpoint through it.
func faultyTURN(t *testing.T, fault func(netsim.Datagram) netsim.Fault) (probes.Target, *netsim.Relay) {
	t.Helper()
	srv := startTURNServer(t, iceserver.Config{})
	tt := turnTarget(t, srv, probes.UDP)
	server, err := net.ResolveUDPAddr("udp4", tt.Server.Addr())
	if err != nil {
		t.Fatal(err)
	}
	relay, err := netsim.StartFaultyRelay(server, 0, fault)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = relay.Close() })
	tt.Server.URI.Host, tt.Server.URI.Port = "127.0.0.1", relay.Addr().Port
	return tt, relay
}

// TestTURNLossPerDirection: a relay in front of the server loses a known
// share of what A sends (towards B) and of what B echoes (towards A).
// Each direction's loss is of what entered that direction: B → A counts
// against the packets B received and echoed, not against all A sent (the
// round trip, loss_rtt_pct). 50 packets; A → B loses every tenth (5, so
// 45 reach B); B → A loses every fifth packet (10 of B's 45 echoes).
func TestTURNLossPerDirection(t *testing.T) {
	tt, _ := faultyTURN(t, func(d netsim.Datagram) netsim.Fault {
		seq, ok := relayedSeq(d.Data, 8)
		switch {
		case !ok || !d.ToServer:
		case d.Client == clientA && seq%10 == 3:
			return netsim.Fault{Drop: true}
		case d.Client == clientB && seq%5 == 0:
			return netsim.Fault{Drop: true}
		}
		return netsim.Fault{}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m := probes.TURN(ctx, tt, probes.TURNConfig{Packets: 50, Interval: 5 * time.Millisecond, EchoWait: time.Second, SkipIPv6: true})
	if m.Err != nil {
		t.Fatal(m.Err)
	}
	for name, want := range map[string]float64{
		"packets_sent":     50,
		"packets_at_peer":  45,
		"packets_received": 35,
		"loss_ab_pct":      10,                     // 5 of 50
		"loss_ba_pct":      probes.LossPct(45, 35), // 10 of 45: 22.22
		"loss_rtt_pct":     30,                     // 15 of 50
		"loss_pct":         probes.LossPct(95, 80), // 15 of the 95 one-way trips
	} {
		if got := metric(m, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// TestTURNRelayDiesHalfWay: the path to the server goes away after A's
// tenth packet (the relay in front of it closes: ICMP port unreachable).
// The probe stops with an error, and A → B loss counts every packet the
// test meant to send that never reached B, not only those A got out.
func TestTURNRelayDiesHalfWay(t *testing.T) {
	const packets, reached = 50, 10
	dead := make(chan struct{})
	die := sync.OnceFunc(func() { close(dead) })
	tt, relay := faultyTURN(t, func(d netsim.Datagram) netsim.Fault {
		if seq, ok := relayedSeq(d.Data, 8); ok && d.ToServer && d.Client == clientA && seq >= reached {
			die()
			return netsim.Fault{Drop: true}
		}
		return netsim.Fault{}
	})
	go func() { <-dead; _ = relay.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m := probes.TURN(ctx, tt, probes.TURNConfig{Packets: packets, Interval: 20 * time.Millisecond, EchoWait: time.Second, SkipIPv6: true})
	if m.Err == nil {
		t.Fatal("no error from a relay test whose server went away")
	}
	sent, atB := metric(m, "packets_sent"), metric(m, "packets_at_peer")
	if !(sent > reached && sent < packets) || atB > reached {
		t.Fatalf("packets_sent %v, packets_at_peer %v: want the probe to stop between %d and %d sent, at most %d at B (%v)", sent, atB, reached, packets, reached, m.Err)
	}
	if got, want := metric(m, "loss_ab_pct"), probes.LossPct(packets, int(atB)); got != want || got < 80 {
		t.Errorf("loss_ab_pct = %v, want %v: the %v packets never sent are lost to B too", got, want, packets-sent)
	}
	received := metric(m, "packets_received")
	if got, want := metric(m, "loss_pct"), probes.LossPct(packets+int(atB), int(atB+received)); got != want {
		t.Errorf("loss_pct = %v, want %v: one-way trips over both directions, the %v never sent included", got, want, packets-sent)
	}
	if got, want := metric(m, "loss_rtt_pct"), probes.LossPct(packets, int(received)); got != want || got < 80 {
		t.Errorf("loss_rtt_pct = %v, want %v: the %v packets never sent are lost to the round trip too", got, want, packets-sent)
	}
}

// TestTURNLateEchoesAreNotLost: echoes that come back later than the
// echo wait after the last packet, on a path whose round trips were
// already that long, are late, not lost. B's echoes of the first five
// packets are held 900 ms and of the last five 1,100 ms: with a fixed 1 s
// wait after the last packet (sent at ~100 ms) the last five were counted
// lost; the wait now stretches to twice the longest round trip seen.
func TestTURNLateEchoesAreNotLost(t *testing.T) {
	tt, _ := faultyTURN(t, func(d netsim.Datagram) netsim.Fault {
		seq, ok := relayedSeq(d.Data, 8)
		switch {
		case !ok || !d.ToServer || d.Client != clientB:
		case seq < 5:
			return netsim.Fault{Extra: 900 * time.Millisecond}
		case seq >= 15:
			return netsim.Fault{Extra: 1100 * time.Millisecond}
		}
		return netsim.Fault{}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m := probes.TURN(ctx, tt, probes.TURNConfig{Packets: 20, Interval: 5 * time.Millisecond, EchoWait: time.Second, SkipIPv6: true})
	if m.Err != nil {
		t.Fatal(m.Err)
	}
	if got := metric(m, "packets_received"); got != 20 || metric(m, "loss_ba_pct") != 0 {
		t.Errorf("packets_received %v, loss_ba_pct %v: want 20 and 0 (late echoes are not lost)", got, metric(m, "loss_ba_pct"))
	}
	if rtt := metric(m, "rtt_max_ms"); rtt < 1100 {
		t.Errorf("rtt_max_ms %v, want at least the 1,100 ms the echoes were held", rtt)
	}
}
