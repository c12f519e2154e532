package probes_test

import (
	"context"
	"net"
	"testing"

	"github.com/rtcprobe/rtcprobe/probes"
)

// TestClassicBindingRefused: the follow-up to a UDP port nobody listens
// on reads the host's ICMP port unreachable, under its own step name, and
// records it.
func TestClassicBindingRefused(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	_ = pc.Close() // the port is now closed: the kernel answers port unreachable
	srv, err := probes.ParseServer("stun:" + addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, log := probes.Recording(context.Background())
	o := probes.ClassicBinding(ctx, probes.Target{Server: srv, Transport: probes.UDP}, 0)
	if o.Step != probes.StepClassicBinding || o.Outcome != probes.OutcomeICMP || o.ICMP == nil || !o.ICMP.PortUnreachable() {
		t.Fatalf("observation %+v", o)
	}
	if got := log.Take(nil); len(got) != 1 || got[0].Step != probes.StepClassicBinding {
		t.Errorf("recorded %+v", got)
	}

	// Over TCP there is nothing to send: RFC 3489 is UDP only.
	ctx, log = probes.Recording(context.Background())
	probes.ClassicBinding(ctx, probes.Target{Server: srv, Transport: probes.TCP}, 0)
	if got := log.Take(nil); len(got) != 0 {
		t.Errorf("TCP recorded %+v", got)
	}
}
