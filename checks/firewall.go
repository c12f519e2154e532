package checks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

// MatrixSummary is the firewall matrix of one host as data: its verdict
// and every judged cell.
type MatrixSummary struct {
	Verdict Verdict
	Cells   []CellOutcome
}

// cellKind is a protocol the matrix speaks in its cells.
type cellKind struct {
	name    string
	applies func(probes.Server) bool
	run     func(ctx context.Context, t probes.Target, p *Plan) probes.Measurement
}

// matrixKinds lists the protocols of the matrix. Binding requests work on
// TURN servers too, so STUN cells test the path for every server; TURN
// servers also get TURN cells (an Allocate and a relayed echo).
var matrixKinds = []cellKind{
	{name: "STUN", applies: func(probes.Server) bool { return true }, run: stunCell},
	{name: "TURN", applies: probes.Server.IsTURN, run: turnCell},
}

// stunCell sends a few Binding requests: one lost datagram is not a drop,
// and three at 500 ms each still end before the 2 s deadline.
func stunCell(ctx context.Context, t probes.Target, _ *Plan) probes.Measurement {
	return probes.STUN(ctx, t, probes.STUNConfig{Count: 3, RequestTimeout: 500 * time.Millisecond})
}

// turnCell allocates a relay and echoes a few packets through it: enough
// to prove path, credentials and relay within the 2 s deadline.
func turnCell(ctx context.Context, t probes.Target, _ *Plan) probes.Measurement {
	return probes.TURN(ctx, t, probes.TURNConfig{Packets: 3, EchoWait: 500 * time.Millisecond, SkipIPv6: true})
}

// hostServers are the plan's servers on host, in plan order: one matrix
// covers every URI of a host, since a firewall rule is about the address.
func hostServers(p *Plan, host string) []probes.Server {
	var out []probes.Server
	for _, s := range p.Servers {
		if s.URI.Host == host {
			out = append(out, s)
		}
	}
	return out
}

// matrixCells expands the servers of one host into cells: each URI's own
// port with the transports its scheme allows, then every --ports entry
// (with the credentials of the first URI of that kind). A host whose URIs
// offer nothing testable (DTLS only) gets no cells: extra ports would say
// nothing about it.
func matrixCells(servers []probes.Server, p *Plan) []probes.Cell {
	type key struct {
		kind string
		tr   probes.Transport
		port int
	}
	var (
		cells []probes.Cell
		seen  = map[key]bool{}
	)
	add := func(kind cellKind, s probes.Server, port int, tr probes.Transport) {
		k := key{kind.name, tr, port}
		if tr == probes.DTLS || seen[k] {
			return
		}
		seen[k] = true
		srv := s
		srv.URI.Port = port
		run := kind.run
		cells = append(cells, probes.Cell{
			Kind:   kind.name,
			Name:   fmt.Sprintf("%s/%s %d", kind.name, tr.Upper(), port),
			Target: probes.Target{Server: srv, Transport: tr, TLS: p.TLS, Proxy: p.Settings.Proxy},
			Run:    func(ctx context.Context, t probes.Target) probes.Measurement { return run(ctx, t, p) },
		})
	}
	for _, kind := range matrixKinds {
		for _, s := range servers {
			if kind.applies(s) {
				for _, tr := range s.Transports() {
					add(kind, s, s.URI.Port, tr)
				}
			}
		}
	}
	if len(cells) == 0 {
		return nil
	}
	for _, kind := range matrixKinds {
		if i := slices.IndexFunc(servers, kind.applies); i >= 0 {
			for _, ps := range p.Settings.FirewallPorts {
				for _, tr := range ps.Transports {
					add(kind, servers[i], ps.Port, tr)
				}
			}
		}
	}
	return cells
}

// classifyCell turns a cell's measurement into an outcome in firewall
// terms.
func classifyCell(r probes.CellResult) CellOutcome {
	c := CellOutcome{Kind: r.Cell.Kind, Transport: r.Cell.Target.Transport, Port: r.Cell.Target.Server.URI.Port}
	m := r.Measurement
	var (
		timeout *probes.TimeoutError
		refused *probes.RefusedError
		tlsErr  *probes.TLSError
		dnsErr  *probes.DNSError
		stunErr *probes.STUNError
		proto   *probes.ProtocolError
		proxy   *probes.ProxyError
		noSTUN  *probes.NoSTUNError
		stray   *probes.StrayAnswerError
		unreach *probes.UnreachableError
		local   *probes.LocalRefusalError
	)
	c.Proxy = r.Cell.Target.ProxyName()
	if sum, ok := m.Summary.(*probes.TURNSummary); ok {
		for _, a := range sum.Relayed {
			c.RelayPorts = append(c.RelayPorts, int(a.Port()))
		}
	}
	_, connected := m.Metrics["connect_ms"]
	_, allocated := m.Metrics["alloc_ms"]
	err := m.Err
	switch {
	case err == nil && m.Metrics["quota_held"] > 0:
		c.Outcome, c.Detail = OutcomeAnswered, "allocated; a second allocation was refused (486, user quota)"
	case err == nil && m.Metrics["capacity_held"] > 0:
		c.Outcome, c.Detail = OutcomeAnswered, "allocated; a second allocation was refused (508, no capacity)"
	case err != nil && allocated:
		// The relay was granted, so path and credentials work; what
		// failed is relaying itself.
		c.Outcome, c.Detail = OutcomeAnswered, "allocated, relay failed: "+err.Error()
	case err == nil:
		c.Outcome, c.RTTms = OutcomeOK, m.Metrics["rtt_median_ms"]
	case errors.Is(err, probes.ErrUnsupported):
		c.Outcome = OutcomeSkipped
	case errors.As(err, &stunErr) && (stunErr.Code == 401 || stunErr.Code == 441):
		c.Outcome, c.Detail = OutcomeAuth, fmt.Sprintf("%d %s", stunErr.Code, stunErr.Reason)
	case errors.As(err, &stunErr):
		c.Outcome, c.Detail = OutcomeAnswered, fmt.Sprintf("error %d %s", stunErr.Code, stunErr.Reason)
	case errors.As(err, &noSTUN) && noSTUN.AnswersTURN:
		c.Outcome, c.Detail = OutcomeAnswered, "answers TURN, not STUN Binding"
	case errors.As(err, &noSTUN):
		c.Outcome, c.Detail = OutcomeNoSTUN, "TCP connected but no STUN answer"
	case errors.As(err, &stray):
		c.Outcome, c.Detail = OutcomeAnswered, "answered with a transaction ID that matches no request"
	case errors.As(err, &proxy) && proxy.Status != "":
		c.Outcome, c.Detail, c.ProxyRefused = OutcomeRefused, "proxy refused CONNECT: "+proxy.Status, proxy.Status
	case errors.As(err, &proxy):
		c.Outcome, c.Detail = OutcomeError, proxy.Error()
	case errors.As(err, &tlsErr):
		c.Outcome, c.Detail = OutcomeTLS, tlsReason(tlsErr)
	case errors.As(err, &local):
		c.Outcome, c.Detail = OutcomeRejected, "this machine's own firewall refused to send it"
	case errors.As(err, &unreach) && unreach.ICMP != nil && unreach.ICMP.Prohibited():
		c.Outcome, c.Detail, c.RejectedBy, c.ICMPKnown = OutcomeRejected, icmpDetail(unreach.ICMP), unreach.ICMP.From, true
	case errors.As(err, &unreach) && unreach.ICMP != nil:
		c.Outcome, c.Detail, c.ICMPKnown = OutcomeUnreachable, icmpDetail(unreach.ICMP), true
	case errors.As(err, &unreach):
		c.Outcome, c.Detail = OutcomeUnreachable, unreach.Err.Error()
	case errors.As(err, &refused) && refused.ICMP != nil && refused.ICMP.From != "" && refused.ICMP.From != c.host(r):
		// A router's REJECT answers port unreachable in its own name.
		c.Outcome, c.Detail, c.RejectedBy, c.ICMPKnown = OutcomeRejected, icmpDetail(refused.ICMP), refused.ICMP.From, true
	case errors.As(err, &timeout) && timeout.Stage == probes.StageTLS:
		c.Outcome, c.Detail = OutcomeTLS, "handshake stalled after TCP connected"
	case errors.As(err, &timeout) && connected:
		// TCP connected, so the firewall let it through; the service is
		// what stays silent.
		c.Outcome, c.Detail = OutcomeNoSTUN, "TCP connected but no STUN answer"
	case errors.As(err, &timeout) && c.Transport.Network() == "udp" && probes.RefusedRecently(r.Cell.Target.Addr()):
		// Another probe of this run was refused by the same address; this
		// one's ICMP answer was rate-limited.
		c.Outcome, c.Detail, c.ICMPKnown = OutcomeRefused, "ICMP port unreachable to another probe of this port; this one's was rate-limited", true
	case errors.As(err, &timeout):
		c.Outcome, c.Detail = OutcomeDropped, fmt.Sprintf("no answer in %s", timeout.After.Round(100*time.Millisecond))
	case errors.As(err, &refused):
		c.Outcome, c.Detail = OutcomeRefused, "TCP RST"
		switch {
		case refused.RateLimited:
			c.Detail, c.ICMPKnown = "ICMP port unreachable to another probe of this port; this one's was rate-limited", true
		case c.Transport.Network() == "udp":
			c.Detail, c.ICMPKnown = "ICMP port unreachable", true
		}
	case errors.As(err, &dnsErr):
		c.Outcome, c.Detail = OutcomeDNS, dnsErr.Error()
	case errors.As(err, &proto):
		c.Outcome, c.Detail = OutcomeAnswered, "not a STUN answer: "+err.Error()
	case connected:
		c.Outcome, c.Detail = OutcomeNoSTUN, err.Error()
	default:
		c.Outcome, c.Detail = OutcomeError, err.Error()
	}
	return c
}

// icmpDetail names an ICMP error and who sent it.
func icmpDetail(r *probes.ICMPReport) string {
	if r.From == "" {
		return "ICMP " + r.Meaning
	}
	return "ICMP " + r.Meaning + " from " + r.From
}

func (c CellOutcome) host(r probes.CellResult) string { return r.Cell.Target.Server.URI.Host }

// tlsReason keeps the certificate problem and drops the address prefix.
func tlsReason(e *probes.TLSError) string {
	if e.Err == nil {
		return "handshake failed"
	}
	return e.Err.Error()
}

func (c CellOutcome) evidence() string {
	via := ""
	if c.Proxy != "" {
		via = " via proxy " + c.Proxy
	}
	switch {
	case c.Outcome == OutcomeOK:
		return fmt.Sprintf("ok %s ms%s", FormatNumber(c.RTTms), via)
	case c.Detail != "":
		return fmt.Sprintf("%s (%s)%s", c.Outcome, c.Detail, via)
	}
	return string(c.Outcome) + via
}

// matrixMetrics counts outcomes; udp_open and friends are set only when
// the matrix had a cell of that transport, so thresholds on them do not
// fire for servers that offer no such transport.
func matrixMetrics(m *probes.Measurement, cells []CellOutcome) {
	count := func(o Outcome) float64 {
		return float64(len(filter(cells, func(c CellOutcome) bool { return c.Outcome == o })))
	}
	m.SetMetric("cells", float64(len(cells)))
	m.SetMetric("cells_ok", count(OutcomeOK))
	m.SetMetric("cells_dropped", count(OutcomeDropped))
	m.SetMetric("cells_refused", count(OutcomeRefused))
	m.SetMetric("cells_tls_failed", count(OutcomeTLS))
	m.SetMetric("cells_auth_failed", count(OutcomeAuth))
	m.SetMetric("paths_open", float64(len(filter(cells, func(c CellOutcome) bool { return c.Outcome.Open() }))))
	for _, tr := range []probes.Transport{probes.UDP, probes.TCP, probes.TLS} {
		of := filter(cells, func(c CellOutcome) bool { return c.Transport == tr })
		if len(of) == 0 {
			continue
		}
		open := 0.0
		if slices.ContainsFunc(of, func(c CellOutcome) bool { return c.Outcome.Open() }) {
			open = 1
		}
		m.SetMetric(string(tr)+"_open", open)
	}
	best := -1.0
	for _, c := range cells {
		if c.Outcome == OutcomeOK && (best < 0 || c.RTTms < best) {
			best = c.RTTms
		}
	}
	if best >= 0 {
		m.SetMetric("rtt_best_ms", best)
	}
}

func firewallChecks() []*Check {
	return []*Check{{
		ID:    "firewall.matrix",
		Title: "Firewall matrix (transport × port)",
		Description: "Per host, tries STUN (and TURN for turn: URIs) over every transport on each URI's port and each extra firewall port at once and tells " +
			"ok, silently dropped, refused, TLS failure and auth failure apart; the verdict says which rule to change.",
		Metrics: []string{"paths_open", "cells", "rtt_best_ms", "cells_ok", "cells_dropped", "cells_refused",
			"cells_tls_failed", "cells_auth_failed", "udp_open", "tcp_open", "tls_open"},
		// The matrix's probes take up to 2 s; a silent UDP port gets a
		// follow-up after a pause for the host's ICMP budget.
		Timeout: 4 * time.Second,
		Thresholds: []Threshold{
			MustThreshold(Fail, "paths_open >= 1", "with no open path no ICE candidate can reach the server: calls fail"),
			MustThreshold(Warn, "udp_open == 1", "without UDP, media is relayed over TCP/TLS: head-of-line blocking adds latency and jitter"),
			MustThreshold(Warn, "cells_dropped == 0", "a silently dropped port makes clients wait out ICE timeouts before falling back"),
			MustThreshold(Warn, "cells_tls_failed == 0", "browsers refuse TURN over TLS with a bad certificate"),
		},
		// One subject per host, named by it; Run finds the host's URIs.
		Subjects: func(p *Plan) []Subject {
			var out []Subject
			for _, s := range p.Servers {
				if !slices.ContainsFunc(out, func(o Subject) bool { return o.Target.Server.URI.Host == s.URI.Host }) {
					out = append(out, Subject{Name: s.URI.Host, Target: probes.Target{Server: s, TLS: p.TLS}})
				}
			}
			return out
		},
		// The TURN cells allocate on the host's servers: they share the
		// TURN checks' allocation quota. Like the TURN checks they lend
		// it until their first authenticated request (probes.TURN).
		Serial: func(s Subject) string { return turnQuotaKey(s.Target.Server) },
		Run: func(ctx context.Context, s Subject, p *Plan) probes.Measurement {
			todo := matrixCells(hostServers(p, s.Target.Server.URI.Host), p)
			if len(todo) == 0 {
				return probes.Failed(fmt.Errorf("the URIs of %s offer only DTLS, which the matrix does not probe: %w", s.Name, probes.ErrUnsupported))
			}
			// On the job's clock: a TURN cell's wait for the quota is not
			// the matrix's time.
			mctx, cancel := withWorkTimeout(ctx, matrixWait)
			defer cancel()
			var cells []CellOutcome
			for _, r := range probes.Matrix(mctx, todo) {
				cells = append(cells, classifyCell(r))
				if o, ok := probes.ObservationOf(r.Measurement.Err); ok {
					o.Step = r.Cell.Name + ": " + o.Step
					probes.Observe(ctx, o)
				}
			}
			settleICMP(cells)
			followUpSilentUDP(ctx, cells, todo)
			// The verdict comes first: it is what a one-line summary shows.
			var m probes.Measurement
			v := FirewallVerdict(s.Target.Server.URI.Host, cells)
			m.Summary = &MatrixSummary{Verdict: v, Cells: cells}
			m.AddEvidence("verdict", v.Class+": "+v.Summary)
			for _, c := range cells {
				m.AddEvidence(c.Name(), c.evidence())
			}
			matrixMetrics(&m, cells)
			return m
		},
		Advice: func(_ Result, m probes.Measurement) string {
			if sum, ok := m.Summary.(*MatrixSummary); ok {
				return sum.Verdict.Advice
			}
			return ""
		},
		Needs: "a STUN or TURN server",
	}}
}
