package checks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pion/stun/v4"

	"github.com/rtcprobe/rtcprobe/probes"
)

// The binding checks run against stun:/stuns: servers; turn: servers get
// the TURN checks, whose Allocate exercises the same path.
func plainSTUN(s probes.Server) bool { return s.URI.Scheme == stun.SchemeTypeSTUN }

var stunThresholds = []Threshold{
	MustThreshold(Warn, "rtt_p95_ms < 150", "ITU-T G.114: 150 ms one-way is the comfort limit; a server this far eats the whole budget"),
	MustThreshold(Fail, "rtt_p95_ms < 400", "ITU-T G.114: beyond 400 ms one-way, conversation breaks down"),
	MustThreshold(Warn, "loss_pct == 0", "any lost Binding request means loss on the path to the server"),
	MustThreshold(Fail, "loss_pct < 50", "losing half the requests makes ICE connectivity checks time out"),
}

func stunChecks() []*Check {
	mk := func(tr probes.Transport, keep func(probes.Server) bool, title, needs string) *Check {
		timeout := 2 * time.Second
		if tr == probes.UDP {
			// The Binding requests keep their 2 s; the rest is for a
			// follow-up to a server that answered none of them.
			timeout += probes.ClassicBindingWait
		}
		return &Check{
			ID:          "stun." + string(tr),
			Title:       title,
			Description: "Sends STUN Binding requests over " + tr.Upper() + " and measures round-trip time, loss and the mapped (public) address.",
			Metrics:     []string{"rtt_median_ms", "rtt_p95_ms", "loss_pct", "rtt_min_ms", "rtt_max_ms", "requests", "responses", "connect_ms", "answer_stall_ms", "stray_answers"},
			Sometimes:   map[string]string{"connect_ms": "over TCP and TLS", "answer_stall_ms": "over TCP and TLS"},
			Timeout:     timeout,
			Thresholds:  stunThresholds,
			Subjects: func(p *Plan) []Subject {
				return markExtraTCP(p, p.serverTargets(keep, tr))
			},
			Run: func(ctx context.Context, s Subject, p *Plan) probes.Measurement {
				if s.Target.Transport != probes.UDP {
					return probes.STUN(ctx, s.Target, probes.STUNConfig{Count: p.Settings.STUNCount})
				}
				pctx, cancel := leaveRoom(ctx, probes.ClassicBindingWait)
				m := probes.STUN(pctx, s.Target, probes.STUNConfig{Count: p.Settings.STUNCount, Sockets: p.Sockets})
				cancel()
				followUpClassic(ctx, s.Target, m)
				return m
			},
			Advice: stunAdvice,
			Needs:  needs,
		}
	}
	secure := func(s probes.Server) bool { return s.URI.Scheme == stun.SchemeTypeSTUNS }
	return []*Check{
		mk(probes.UDP, plainSTUN, "STUN binding over UDP", "a stun: server"),
		mk(probes.TCP, plainSTUN, "STUN binding over TCP", "a stun: server"),
		mk(probes.TLS, secure, "STUN binding over TLS", "a stuns: server"),
	}
}

// stunAdvice explains a slow Binding exchange over a stream whose answers
// came in parts: their first bytes soon, the rest long after. The delay
// is then inside the stream, not the path's round trip; who holds it
// (the server, or a proxy or middlebox relaying the stream) cannot be
// told from here.
func stunAdvice(r Result, m probes.Measurement) string {
	stall, rtt := m.Metrics["answer_stall_ms"], m.Metrics["rtt_max_ms"]
	if m.Err != nil || stall == 0 || stall < rtt/2 {
		return ""
	}
	return fmt.Sprintf("The answers came in parts, with a pause of up to %s ms inside one answer (round trips up to %s ms): the time is spent inside the stream, not on the path. "+
		"Cannot tell from here whether the server stalls mid-message or a proxy or middlebox relaying the stream holds it; to tell them apart, query the server from another network "+
		"(or over UDP, stun.udp): a server that stalls does so everywhere.", FormatNumber(stall), FormatNumber(rtt))
}

// tcpNotAsked is what a failed TCP diagnostic means for a URI that names
// UDP (RFC 7064/7065: stun: and turn: without ?transport= are UDP).
const tcpNotAsked = "TCP not offered here: clients behind UDP-blocking firewalls cannot reach this server. The URI names UDP (no ?transport=tcp), so TCP is an extra diagnostic and its failure only warns."

// notOffered is a failure to reach the server over the transport at all
// (refused, or no answer), as opposed to a server that answered badly.
func notOffered(err error) bool {
	var (
		refused *probes.RefusedError
		timeout *probes.TimeoutError
	)
	return errors.As(err, &refused) || errors.As(err, &timeout) && timeout.Stage == ""
}

// markExtraTCP marks TCP subjects whose URI did not ask for TCP, unless
// the plan's checks were asked for by name.
func markExtraTCP(p *Plan, subjects []Subject) []Subject {
	if p.ChecksAsked {
		return subjects
	}
	for i, s := range subjects {
		srv := s.Target.Server
		if s.Target.Transport == probes.TCP && !(srv.ExplicitTransport && srv.URI.Proto == stun.ProtoTypeTCP) {
			subjects[i].Extra = tcpNotAsked
		}
	}
	return subjects
}
