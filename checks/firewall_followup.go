package checks

import (
	"context"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

// matrixWait bounds the matrix's own probes inside the check's deadline,
// leaving room for the follow-up below.
const matrixWait = 2 * time.Second

// icmpPause is how long the follow-up waits before its one datagram: a
// Linux host refills its per-peer ICMP budget at one error a second
// (icmp_ratelimit), so a host that refuses the port answers it again.
const icmpPause = 1100 * time.Millisecond

// followUpSilentUDP tells a silent UDP port apart: dropped by a firewall,
// or refused by a host whose ICMP errors were spent (by this run's other
// cells, or by a run moments ago in another process). After a pause one
// Binding request goes to the port alone; what comes back decides, and
// the cells of that port take it. Silence again keeps them dropped.
func followUpSilentUDP(ctx context.Context, cells []CellOutcome, todo []probes.Cell) {
	done := map[int]bool{}
	for i, c := range cells {
		if c.Transport != probes.UDP || c.Outcome != OutcomeDropped || done[c.Port] {
			continue
		}
		done[c.Port] = true
		if !allSilent(cells, c.Port) {
			continue
		}
		t := todo[i].Target
		select {
		case <-ctx.Done():
			return
		case <-time.After(icmpPause):
		}
		m := probes.STUN(ctx, t, probes.STUNConfig{Count: 1, RequestTimeout: 500 * time.Millisecond})
		o, ok := probes.ObservationOf(m.Err)
		if !ok {
			o = probes.Observation{Transport: string(t.Transport), To: t.Addr(), Outcome: probes.OutcomeAnswered}
		}
		o.Step = "follow-up: Binding request after a " + icmpPause.String() + " pause (ICMP rate limit)"
		probes.Observe(ctx, o)
		got := classifyCell(probes.CellResult{Cell: todo[i], Measurement: m})
		for j := range cells {
			if cells[j].Port != c.Port || cells[j].Transport.Network() != "udp" {
				continue
			}
			switch got.Outcome {
			case OutcomeDropped:
				cells[j].Detail += "; a follow-up after a pause: no answer either"
			case OutcomeRefused:
				cells[j].Outcome, cells[j].Detail, cells[j].ICMPKnown = OutcomeRefused, "ICMP port unreachable to a follow-up probe after a pause (the host rate-limits its ICMP errors)", true
			default:
				cells[j].Outcome, cells[j].Detail, cells[j].RejectedBy, cells[j].ICMPKnown = got.Outcome, got.Detail+", to a follow-up probe after a pause", got.RejectedBy, got.ICMPKnown
			}
		}
	}
}

// allSilent: every UDP cell of port heard nothing.
func allSilent(cells []CellOutcome, port int) bool {
	return all(filter(cells, func(c CellOutcome) bool { return c.Port == port && c.Transport.Network() == "udp" }),
		func(c CellOutcome) bool { return c.Outcome == OutcomeDropped })
}
