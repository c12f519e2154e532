package checks

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

// exposure is what a server's grant to a class of peers means.
type exposure int

const (
	// mustRefuse: the class reaches the server host itself, a cloud's
	// credentials, or what the user called internal: any grant fails.
	mustRefuse exposure = iota
	// shouldRefuse: networks that are usually internal: proof of
	// arrival fails, the server's answer alone warns (a TURN server for
	// an internal network may relay there by design).
	shouldRefuse
	// mayGrant: the server's own addresses (calls between two of its
	// clients go relay to relay) and public ones: only proof that a
	// service there was reached fails.
	mayGrant
)

func exposureOf(class string) exposure {
	switch class {
	case probes.ClassLoopback, probes.ClassUnspecified, probes.ClassMapped, probes.ClassMetadata, probes.ClassInternal:
		return mustRefuse
	case probes.ClassOwn, probes.ClassPublic:
		return mayGrant
	}
	return shouldRefuse
}

// Each answer of a row counts in one of these metrics; the thresholds
// judge them.
var peerThresholds = []Threshold{
	MustThreshold(Fail, "reached == 0", "proof: a marker sent through the relay came back from this address, or the server connected to it"),
	MustThreshold(Fail, "exposed == 0", "the server agreed to relay to addresses that reach its own host, a cloud's metadata service or ranges named internal"),
	MustThreshold(Warn, "granted == 0", "the server agreed to relay into networks that are usually internal: right only for a TURN server whose clients need peers there"),
	MustThreshold(Warn, "unclear == 0", "the server neither refused nor showed that it relays there: cannot tell"),
}

func auditPeerCheck(tcp bool) *Check {
	id, title, over := "audit.udp", "TURN audit: peers over UDP relays", "a UDP relay of each address family"
	if tcp {
		id, title, over = "audit.tcp", "TURN audit: peers over TCP relays", "a TCP relay (RFC 6062)"
	}
	return auditCheck(&Check{
		ID:    id,
		Title: title,
		Description: "Asks the server, through " + over + ", to relay to each class of peer address a relay must not reach or an operator must decide about " +
			"(loopback, 0.0.0.0 and ::, IPv4-in-IPv6 forms, cloud metadata, private, shared, link-local, unique-local, multicast, broadcast, " +
			"its own addresses, the ranges named internal), one row per class. A marker that comes back from a witness ({option:audit_witness}), " +
			"or a TCP connection the server made, is proof; a granted permission alone is the server's answer, and the row says which.",
		Metrics:    []string{"reached", "exposed", "granted", "unclear", "refused", "asked"},
		Thresholds: peerThresholds,
		Subjects: func(p *Plan) []Subject {
			var out []Subject
			for _, t := range auditServers(p) {
				for _, class := range peerClasses(p, tcp) {
					out = append(out, Subject{Name: t.Server.String() + " → " + class, Target: t, Part: class})
				}
			}
			return out
		},
		Run: func(ctx context.Context, s Subject, p *Plan) probes.Measurement {
			rep, err := auditOf(ctx, s, p)
			if err != nil {
				return probes.Failed(err)
			}
			return peerRow(rep, s.Part, tcp, p.Settings.AuditInternal)
		},
		Advice: func(r Result, m probes.Measurement) string {
			if m.Err != nil {
				return ""
			}
			row, _ := m.Summary.(*auditFinding)
			if row == nil {
				return ""
			}
			return joinSentences(row.finding, row.fix)
		},
	})
}

// peerClasses are the classes a run asks about: every fixed class (over
// TCP those with ports to try), the internal ranges when named, and the
// class of each witness.
func peerClasses(p *Plan, tcp bool) []string {
	var out []string
	for _, c := range probes.AuditClasses() {
		switch {
		case c.Name == probes.ClassInternal && len(p.Settings.AuditInternal) == 0:
		case tcp && len(c.TCPPorts) == 0:
		default:
			out = append(out, c.Name)
		}
	}
	for _, w := range p.Settings.AuditWitnesses {
		if (w.Network == "tcp") != tcp {
			continue
		}
		if class := probes.ClassOf(w.Addr.Addr(), nil, p.Settings.AuditInternal); !slices.Contains(out, class) {
			out = append(out, class)
		}
	}
	return out
}

// auditFinding is what an audit row found, in words for its advice, and
// the coturn settings that close it, which the summary row gathers.
type auditFinding struct {
	finding, fix string
	coturn       []string
	note         string
}

// peerRow judges one class from the audit: every answer on the row's
// relays counts in one metric, and the evidence lists each.
func peerRow(rep *probes.AuditReport, class string, tcp bool, internal []netip.Prefix) probes.Measurement {
	if err := auditErr(rep); err != nil {
		return probes.Failed(err)
	}
	relays := []string{probes.RelayUDP4, probes.RelayUDP6}
	if tcp {
		relays = []string{probes.RelayTCP4}
	}
	var m probes.Measurement
	for _, name := range []string{"reached", "exposed", "granted", "unclear", "refused", "asked"} {
		m.SetMetric(name, 0)
	}
	var notes []string
	allocated := 0
	for _, key := range relays {
		r, ok := rep.Relay(key)
		switch {
		case !ok:
			notes = append(notes, probes.RelayTitle(key)+": not asked (the audit ran out of time)")
		case r.Err != nil:
			notes = append(notes, probes.RelayTitle(key)+": "+relayRefusal(r.Err))
		default:
			allocated++
		}
	}
	if allocated == 0 {
		if tcp {
			if r, ok := rep.Relay(probes.RelayTCP4); ok && notOfferedRelay(r.Err) {
				m.AddEvidence("verdict", "no TCP relays: "+relayRefusal(r.Err)+"; nothing to relay to over TCP")
				return m
			}
			if r, ok := rep.Relay(probes.RelayTCP4); ok && r.Err != nil {
				return probes.Failed(fmt.Errorf("%w: TCP relays not audited: %w", probes.ErrUnsupported, r.Err))
			}
		}
		return probes.Failed(fmt.Errorf("no relay to audit: %s", strings.Join(notes, "; ")))
	}
	ex := exposureOf(class)
	var reached, exposed, granted, unclear []probes.PeerAnswer
	for _, a := range rep.Peers {
		if a.Class != class || !slices.Contains(relays, a.Relay) {
			continue
		}
		m.Metrics["asked"]++
		switch {
		case a.Arrived || a.Outcome == probes.PeerConnected:
			m.Metrics["reached"]++
			reached = append(reached, a)
		case a.Outcome == probes.PeerGranted || a.Outcome == probes.PeerConnectFailed:
			switch ex {
			case mustRefuse:
				m.Metrics["exposed"]++
				exposed = append(exposed, a)
			case shouldRefuse:
				m.Metrics["granted"]++
				granted = append(granted, a)
			}
		case a.Outcome == probes.PeerRefused && policyRefusal(a.Code):
			m.Metrics["refused"]++
		default:
			if ex != mayGrant {
				m.Metrics["unclear"]++
				unclear = append(unclear, a)
			}
		}
		m.AddEvidence(peerName(a), answerText(a))
	}
	for _, n := range notes {
		m.AddEvidence("relay", n)
	}
	row := &auditFinding{}
	verdict := ""
	switch {
	case len(reached) > 0:
		verdict, row.finding = "proven by arrival: "+reachedText(reached), "Proven by arrival: "+reachedText(reached)+"."
	case len(exposed) > 0:
		verdict, row.finding = "the server's answer only: "+grantedText(exposed), "The server's answer only: "+grantedText(exposed)+"."
	case len(granted) > 0:
		verdict, row.finding = "the server's answer only: "+grantedText(granted), "The server's answer only: "+grantedText(granted)+"."
	case len(unclear) > 0:
		verdict, row.finding = "cannot tell: "+unclearText(unclear), "Cannot tell: "+unclearText(unclear)+"."
	case m.Metrics["asked"] == 0 && class == probes.ClassOwn:
		verdict = "nothing asked here: the server's addresses fall in another class, whose row judges them"
	case m.Metrics["asked"] == 0:
		verdict = "no address of this class fits the relays allocated"
	default:
		verdict = passText(rep, class, relays, ex)
	}
	m.Evidence = append([]probes.Evidence{{Name: "verdict", Value: verdict}}, m.Evidence...)
	if row.finding != "" {
		fix := fixFor(class, tcp && (len(reached)+len(exposed)+len(granted)) > 0, internal)
		row.fix, row.coturn, row.note = "Fix: "+fix.text(), fix.coturn, fix.note
	}
	m.Summary = row
	return m
}

// policyRefusal: an error response that refuses the peer itself: 403
// (forbidden by policy), 443 (a family the relay cannot reach) or 440.
func policyRefusal(code int) bool { return code == 403 || code == 443 || code == 440 }

// notOfferedRelay: the server does not offer that kind of relay (442
// Unsupported Transport Protocol, or 440 for the family).
func notOfferedRelay(err error) bool {
	var se *probes.STUNError
	return errors.As(err, &se) && (se.Code == 442 || se.Code == 440)
}

func relayRefusal(err error) string {
	var se *probes.STUNError
	if errors.As(err, &se) {
		return fmt.Sprintf("refused (%d %s)", se.Code, se.Reason)
	}
	return err.Error()
}

// relayShort names a relay in an evidence line.
func relayShort(key string) string {
	switch key {
	case probes.RelayUDP4:
		return "UDP/IPv4 relay →"
	case probes.RelayUDP6:
		return "UDP/IPv6 relay →"
	}
	return "TCP relay →"
}

// peerName names an answer's evidence: the relay and the peer, with the
// port where one matters (a TCP Connect, a witness's marker).
func peerName(a probes.PeerAnswer) string {
	if a.Relay == probes.RelayTCP4 || a.Witness != nil {
		return relayShort(a.Relay) + " " + a.Peer.String()
	}
	return relayShort(a.Relay) + " " + a.Peer.Addr().String()
}

// answerText says what the server did with one peer, claiming no more
// than was seen.
func answerText(a probes.PeerAnswer) string {
	after := a.After.Round(100 * time.Microsecond).String()
	switch {
	case a.Arrived:
		return fmt.Sprintf("permission granted; a marker sent through the relay to %s came back from %s after %s: proven by arrival", a.Peer, a.EchoFrom, after)
	case a.Outcome == probes.PeerConnected:
		return fmt.Sprintf("Connect to %s succeeded after %s: the server opened a TCP connection there", a.Peer, after)
	case a.Outcome == probes.PeerConnectFailed:
		return fmt.Sprintf("Connect to %s failed after %s (%d %s): the server's policy let it try; nothing answered there", a.Peer, after, a.Code, a.Reason)
	case a.Outcome == probes.PeerGranted && a.Marker:
		return fmt.Sprintf("permission granted; a marker sent to %s (a witness) did not come back: arrival not observed", a.Peer)
	case a.Outcome == probes.PeerGranted:
		return "permission granted (the server's answer only: no witness there to prove arrival)"
	case a.Outcome == probes.PeerRefused && a.Code == 403:
		return fmt.Sprintf("refused by policy (%d %s)", a.Code, a.Reason)
	case a.Outcome == probes.PeerRefused && (a.Code == 443 || a.Code == 440):
		return fmt.Sprintf("not relayed: %d %s (this relay's family cannot reach it)", a.Code, a.Reason)
	case a.Outcome == probes.PeerRefused:
		return fmt.Sprintf("error %d %s: neither a policy refusal nor a relay", a.Code, a.Reason)
	}
	return fmt.Sprintf("no answer in %s: neither refused nor granted", after)
}

func reachedText(as []probes.PeerAnswer) string {
	var out []string
	for _, a := range as {
		if a.Arrived {
			out = append(out, fmt.Sprintf("a datagram sent through the relay arrived at %s (its witness echoed it back from %s)", a.Peer, a.EchoFrom))
		} else {
			out = append(out, fmt.Sprintf("the server opened a TCP connection to %s (Connect succeeded)", a.Peer))
		}
	}
	return strings.Join(out, "; ")
}

func grantedText(as []probes.PeerAnswer) string {
	var permitted, silent, tried []string
	for _, a := range as {
		switch {
		case a.Outcome == probes.PeerConnectFailed:
			tried = append(tried, a.Peer.String())
		case a.Marker:
			silent = append(silent, a.Peer.String())
		default:
			permitted = append(permitted, a.Peer.Addr().String())
		}
	}
	var out []string
	if len(permitted) > 0 {
		out = append(out, "the server granted a permission to "+strings.Join(unique(permitted), ", ")+" (it would relay there; arrival not observed)")
	}
	if len(silent) > 0 {
		out = append(out, "the server granted a permission to "+strings.Join(silent, ", ")+", but the marker sent there did not come back from the witness: arrival not observed")
	}
	if len(tried) > 0 {
		out = append(out, "the server tried to connect to "+strings.Join(tried, ", ")+" (its policy let it; the connection failed: 447)")
	}
	return strings.Join(out, "; ")
}

func unclearText(as []probes.PeerAnswer) string {
	var out []string
	for _, a := range as {
		out = append(out, a.Peer.String()+": "+answerText(a))
	}
	return strings.Join(out, "; ")
}

// passText is a passing row's verdict: what the server refused, or what
// it granted that is no finding (its own relay addresses).
func passText(rep *probes.AuditReport, class string, relays []string, ex exposure) string {
	var refused, allowed []string
	for _, a := range rep.Peers {
		if a.Class != class || !slices.Contains(relays, a.Relay) {
			continue
		}
		if a.Outcome == probes.PeerRefused {
			refused = append(refused, a.Peer.Addr().String())
		} else {
			allowed = append(allowed, a.Peer.String())
		}
	}
	s := ""
	if len(refused) > 0 {
		s = "refused " + strings.Join(unique(refused), ", ")
	}
	if len(allowed) > 0 && ex == mayGrant {
		if s != "" {
			s += "; "
		}
		s += "granted " + strings.Join(unique(allowed), ", ") + " (calls between two clients of this server need its relay addresses; no service reached)"
	}
	return s
}

func unique(ss []string) []string {
	var out []string
	for _, s := range ss {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
