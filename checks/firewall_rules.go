package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rtcprobe/rtcprobe/probes"
)

// Outcome is what happened to one cell of the firewall matrix, in
// firewall terms.
type Outcome string

// Cell outcomes. auth failure and answered mean the server replied, so the
// path through the firewall is open even though the request failed.
const (
	OutcomeOK       Outcome = "ok"
	OutcomeAuth     Outcome = "auth failure"
	OutcomeAnswered Outcome = "answered"
	// OutcomeNoSTUN: TCP connected, so the firewall let it through, but no
	// STUN server answered there; the path is open yet not usable.
	OutcomeNoSTUN  Outcome = "open, no STUN"
	OutcomeDropped Outcome = "dropped"
	// OutcomeRefused: the server's host answered that nothing listens
	// (ICMP port unreachable from the host itself, TCP RST).
	OutcomeRefused Outcome = "refused"
	// OutcomeRejected: a filter answered no (ICMP administratively
	// prohibited, or port unreachable from a router on the path, or this
	// machine's own rule).
	OutcomeRejected Outcome = "rejected"
	// OutcomeUnreachable: a router answered net or host unreachable: no
	// route, or a filter imitating one.
	OutcomeUnreachable Outcome = "unreachable"
	OutcomeTLS         Outcome = "tls failure"
	OutcomeDNS         Outcome = "dns failure"
	OutcomeSkipped     Outcome = "skipped"
	OutcomeError       Outcome = "error"
)

// Open reports whether the outcome proves a usable path: the server
// itself answered.
func (o Outcome) Open() bool { return o == OutcomeOK || o == OutcomeAuth || o == OutcomeAnswered }

// CellOutcome is one judged cell: protocol (STUN/TURN), transport, port.
type CellOutcome struct {
	Kind      string
	Transport probes.Transport
	Port      int
	Outcome   Outcome
	RTTms     float64 // ok cells only
	Detail    string  // the reason in words for cells that are not ok
	Proxy     string  // the HTTP proxy the cell went through, if any
	// ProxyRefused is the proxy's answer when it refused to CONNECT to
	// the cell's port ("403 Forbidden"): the proxy's rule, not the
	// server's firewall, closed the path.
	ProxyRefused string
	// RelayPorts are the relayed ports a TURN cell was given.
	RelayPorts []int
	// RejectedBy is the address whose ICMP error rejected the cell.
	RejectedBy string
	// ICMPKnown is true when the cell's outcome rests on an ICMP error
	// known by its kind (Detail names it), not only by the errno of a
	// failed socket call.
	ICMPKnown bool
}

// Name is "STUN/UDP 3478".
func (c CellOutcome) Name() string {
	return fmt.Sprintf("%s/%s %d", c.Kind, c.Transport.Upper(), c.Port)
}

// Verdict is the matrix read in firewall terms.
type Verdict struct {
	// Class names the situation: all-open, udp-open, udp-blocked,
	// tls-443-only, no-udp-tested, all-dropped, all-refused, all-blocked,
	// tls-failing, dns, none.
	Class   string
	Summary string
	// Advice is what to change, empty when nothing needs changing.
	Advice string
}

// FirewallVerdict derives the verdict from the cells of one server's
// matrix. It is a pure function so each rule is tested case by case.
func FirewallVerdict(host string, cells []CellOutcome) Verdict {
	if len(cells) == 0 {
		return Verdict{Class: "none", Summary: "no transport/port combination to test"}
	}
	if all(cells, func(c CellOutcome) bool { return c.Outcome == OutcomeDNS }) {
		return Verdict{Class: "dns", Summary: fmt.Sprintf("%s does not resolve, so no path could be tested", host),
			Advice: fmt.Sprintf("Check the spelling of %q and this machine's DNS resolver.", host)}
	}
	open := filter(cells, func(c CellOutcome) bool { return c.Outcome.Open() })
	udp := filter(cells, func(c CellOutcome) bool { return c.Transport == probes.UDP })
	udpOpen := filter(udp, func(c CellOutcome) bool { return c.Outcome.Open() })
	var v Verdict
	switch {
	case len(open) == 0:
		v = closedVerdict(host, cells)
	case len(open) == len(cells):
		v = Verdict{Class: "all-open", Summary: fmt.Sprintf("every tested transport and port to %s is open", host)}
	case len(udpOpen) > 0:
		v = Verdict{Class: "udp-open",
			Summary: fmt.Sprintf("UDP to %s works (%s), so direct media and TURN over UDP can flow; not open: %s",
				host, ports(udpOpen), describe(filter(cells, func(c CellOutcome) bool { return !c.Outcome.Open() }))),
			Advice: "Clients on this network can use UDP; the closed paths matter only as a fallback for clients on stricter networks."}
	case len(udp) == 0:
		v = Verdict{Class: "no-udp-tested", Summary: fmt.Sprintf("%s open; UDP was not tested (the URI names no UDP transport)", describe(open)),
			Advice: "Add a stun: or turn: URI on UDP (or port 3478 in the firewall ports) to learn whether direct media can flow."}
	default:
		v = udpBlockedVerdict(host, udp, open, relayPortRange(cells))
	}
	v.Advice = joinSentences(v.Advice, extraAdvice(host, cells))
	return v
}

// closedVerdict: no cell reached the server.
func closedVerdict(host string, cells []CellOutcome) Verdict {
	dropped := filter(cells, func(c CellOutcome) bool { return c.Outcome == OutcomeDropped })
	refused := filter(cells, func(c CellOutcome) bool { return c.Outcome == OutcomeRefused })
	tlsFail := filter(cells, func(c CellOutcome) bool { return c.Outcome == OutcomeTLS })
	switch {
	case len(dropped) == len(cells):
		return Verdict{Class: "all-dropped",
			Summary: fmt.Sprintf("everything to %s is silently dropped (%s): no path reaches the server", host, describe(cells)),
			Advice:  fmt.Sprintf("A firewall drops all traffic to %s, or the address is unroutable. Permit outbound UDP 3478 and TCP 443 to %s (UDP for direct media, TCP 443 for TURN over TLS as the fallback).", host, host)}
	case len(refused) == len(cells):
		return Verdict{Class: "all-refused",
			Summary: fmt.Sprintf("%s refuses every tested port (%s)", host, describe(cells)),
			Advice:  "The host is reachable but nothing accepts these transports there, or a firewall rejects them (REJECT rule): check that the server runs and listens on these ports."}
	case len(tlsFail) > 0 && len(tlsFail)+len(dropped)+len(refused) == len(cells) && len(dropped)+len(refused) > 0:
		return Verdict{Class: "all-blocked",
			Summary: fmt.Sprintf("no path to %s works: %s", host, describe(cells)),
			Advice:  fmt.Sprintf("Permit outbound UDP 3478 and TCP 443 to %s; TLS reached the server but failed (see below).", host)}
	case len(tlsFail) > 0 && len(dropped)+len(refused) == 0:
		return Verdict{Class: "tls-failing", Summary: fmt.Sprintf("TLS reaches %s but every handshake fails: %s", host, describe(cells))}
	}
	return Verdict{Class: "all-blocked",
		Summary: fmt.Sprintf("no path to %s works: %s", host, describe(cells)),
		Advice:  fmt.Sprintf("Permit outbound UDP 3478 and TCP 443 to %s: dropped ports are filtered silently, refused ones are rejected or have no listener.", host)}
}

// udpBlockedVerdict: UDP was tested and is closed, but TCP or TLS works.
// Refused UDP is the server host's answer (nothing listens there), not a
// drop on the path, and the verdict says which.
func udpBlockedVerdict(host string, udp, open []CellOutcome, relayPorts string) Verdict {
	how := "silently dropped"
	refused := all(udp, func(c CellOutcome) bool { return c.Outcome == OutcomeRefused })
	rejected := all(udp, func(c CellOutcome) bool { return c.Outcome == OutcomeRejected })
	unreachable := all(udp, func(c CellOutcome) bool { return c.Outcome == OutcomeUnreachable })
	switch {
	case refused:
		how = "refused by the host (ICMP port unreachable)"
	case rejected:
		how = "rejected by a firewall (" + udp[0].Detail + ")"
	case unreachable:
		how = "unreachable (" + udp[0].Detail + ")"
	case !all(udp, func(c CellOutcome) bool { return c.Outcome == OutcomeDropped }):
		how = "blocked"
	}
	via := "TURN over TCP/TLS"
	if all(open, func(c CellOutcome) bool { return c.Transport == probes.TLS }) {
		via = "TURN over TLS"
	} else if all(open, func(c CellOutcome) bool { return c.Transport == probes.TCP }) {
		via = "TURN over TCP"
	}
	class := "udp-blocked"
	if all(open, func(c CellOutcome) bool { return c.Transport == probes.TLS && c.Port == 443 }) {
		class = "tls-443-only"
	}
	v := Verdict{Class: class,
		Summary: fmt.Sprintf("UDP to %s:%s is %s; open: %s → calls will work only via %s on %s",
			host, ports(udp), how, names(open), via, ports(open)),
		Advice: fmt.Sprintf("Use %s: configure turn(s): URIs on %s as ICE servers (expect higher latency, media is relayed over TCP). To allow direct media, permit outbound UDP to %s:%s and UDP %s for relayed and peer-to-peer media.",
			via, ports(open), host, ports(udp), relayPorts)}
	if rejected && udp[0].RejectedBy != "" {
		where := "the firewall at " + udp[0].RejectedBy
		if udp[0].RejectedBy == host {
			where = "the server host's own firewall"
		}
		v.Advice = fmt.Sprintf("%s rejects UDP to %s:%s (%s): allow it there to let media flow directly and over TURN/UDP; until then clients relay via %s on %s.",
			capitalize(where), host, ports(udp), udp[0].Detail, via, ports(open))
	}
	if rejected && udp[0].RejectedBy == "" {
		v.Advice = fmt.Sprintf("This machine's own firewall refuses to send UDP to %s:%s: allow it in its OUTPUT rules; until then clients here relay via %s on %s.", host, ports(udp), via, ports(open))
	}
	if unreachable {
		v.Advice = fmt.Sprintf("Cannot tell from here: a router finds no route to %s for UDP while TCP gets through (a policy route), or a firewall rejects UDP with %s to imitate that. "+
			"Either way UDP does not reach %s: until it does, clients relay via %s on %s.", host, udp[0].Detail, host, via, ports(open))
	}
	if refused {
		v.Advice = fmt.Sprintf("The server host itself refuses UDP on %s (ICMP port unreachable): nothing listens on UDP there (coturn: no-udp, or another listening-port), or a REJECT rule on that host answers. "+
			"No firewall on the path does this: enable UDP on the server, or every client relays via %s on %s.", ports(udp), via, ports(open))
	}
	return v
}

// relayPortRange is the relay ports to name in advice: the range of the
// relayed ports the TURN cells saw, else the usual 49152-65535.
func relayPortRange(cells []CellOutcome) string {
	lo, hi := 0, 0
	for _, c := range cells {
		for _, p := range c.RelayPorts {
			if lo == 0 || p < lo {
				lo = p
			}
			hi = max(hi, p)
		}
	}
	if lo == 0 {
		return "49152-65535 (the usual relay range)"
	}
	if lo == hi {
		return fmt.Sprintf("%d (the relayed port seen; the server's relay range lies around it)", lo)
	}
	return fmt.Sprintf("%d-%d (the relayed ports seen; the server's relay range may be wider)", lo, hi)
}

// names lists cells without their outcome: "STUN/TCP 3478, TURN/TLS 443".
func names(cells []CellOutcome) string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = c.Name()
	}
	return strings.Join(out, ", ")
}

// extraAdvice covers cells whose failure needs its own fix whatever the
// overall verdict: certificates and credentials.
func extraAdvice(host string, cells []CellOutcome) string {
	var out []string
	for _, c := range cells {
		switch c.Outcome {
		case OutcomeTLS:
			out = append(out, fmt.Sprintf("TLS to %s:%d fails (%s): the port is open, fix the certificate (name, chain, expiry) or pass the CA.", host, c.Port, c.Detail))
		case OutcomeAuth:
			out = append(out, fmt.Sprintf("%s reached the server (path open) but the credentials were rejected (%s): fix the username and password.", c.Name(), c.Detail))
		case OutcomeRefused:
			if c.ProxyRefused != "" {
				out = append(out, fmt.Sprintf("The HTTP proxy refuses CONNECT to port %d (%s): ask its admin to allow that port, or use TURN over TLS on 443, which proxies usually tunnel.", c.Port, c.Detail))
			}
		}
	}
	return strings.Join(slices.Compact(out), " ")
}

// settleICMP reads a port's UDP cells together. Hosts rate-limit ICMP
// errors (Linux: a burst of 6, then one a second per peer), so when several
// probes hit a UDP port at once only some hear the ICMP error (port
// unreachable, administratively prohibited, …) and the others time out;
// read one by one, the verdict would flip between refused and dropped from
// run to run. One ICMP answer shows how the port is answered: the silent
// cells were answered the same way.
func settleICMP(cells []CellOutcome) {
	answered := map[int]CellOutcome{}
	for _, c := range cells {
		if a, seen := answered[c.Port]; c.Transport.Network() == "udp" && icmpAnswered(c) && (!seen || !a.ICMPKnown && c.ICMPKnown) {
			answered[c.Port] = c
		}
	}
	for i, c := range cells {
		a, ok := answered[c.Port]
		if ok && c.Transport.Network() == "udp" && c.Outcome == a.Outcome && !c.ICMPKnown && a.ICMPKnown {
			// The same answer, told by the errno alone (another socket
			// read the ICMP error's details): the details are the port's.
			cells[i].Detail, cells[i].RejectedBy, cells[i].ICMPKnown = a.Detail, a.RejectedBy, true
			continue
		}
		if c.Transport.Network() == "udp" && c.Outcome == OutcomeDropped && ok {
			cells[i].Outcome, cells[i].RejectedBy, cells[i].ICMPKnown = a.Outcome, a.RejectedBy, a.ICMPKnown
			cells[i].Detail = strings.TrimSuffix(a.Detail, ", to a follow-up probe after a pause") + " to another probe of this port; this one's was rate-limited"
		}
	}
}

// icmpAnswered: the cell's outcome came from an ICMP error.
func icmpAnswered(c CellOutcome) bool {
	switch c.Outcome {
	case OutcomeRefused, OutcomeUnreachable:
		return true
	case OutcomeRejected:
		return c.RejectedBy != ""
	}
	return false
}

// describe lists cells as "STUN/UDP 3478 dropped, STUN/TCP 3478 ok".
func describe(cells []CellOutcome) string {
	parts := make([]string, len(cells))
	for i, c := range cells {
		parts[i] = c.Name() + " " + string(c.Outcome)
	}
	return strings.Join(parts, ", ")
}

// ports lists the distinct ports of cells: "3478,443".
func ports(cells []CellOutcome) string {
	var ps []string
	for _, c := range cells {
		p := fmt.Sprint(c.Port)
		if !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	return strings.Join(ps, ",")
}

func all(cells []CellOutcome, f func(CellOutcome) bool) bool {
	for _, c := range cells {
		if !f(c) {
			return false
		}
	}
	return true
}

func filter(cells []CellOutcome, keep func(CellOutcome) bool) []CellOutcome {
	var out []CellOutcome
	for _, c := range cells {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func joinSentences(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + " " + b
}
