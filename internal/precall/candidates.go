package precall

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/pion/ice/v4"
)

// The server's pion peer sends STUN connectivity checks to every remote
// candidate of an offer, and anyone may send one: unbounded, one 35 KB
// offer of 600 candidates made it send 24,000 packets to 600 ports, and
// candidates on loopback or a private network aimed it at the operator's
// own hosts. So an offer's candidates are judged before pion sees them:
// at most maxCallCandidates per call and maxSessionCandidates per session
// (sessions are limited per client address, which bounds the rate), and
// only to addresses the peer may reach.
const (
	maxCallCandidates    = 16
	maxSessionCandidates = 64
)

// Why a remote candidate was dropped (the metric's label).
const (
	dropAddress   = "address"   // loopback, private, link-local, multicast, … not allowed
	dropName      = "name"      // a host name (mDNS .local): never resolved
	dropMalformed = "malformed" // pion could not parse it
	dropBudget    = "budget"    // over the call's or the session's count
)

// candidatePolicy says where the server's peer may send checks.
type candidatePolicy struct {
	// allowed are the operator's peer_allowed_networks.
	allowed []netip.Prefix
	// relay reports the embedded TURN server's own relays: a browser's
	// relay candidate there is no host service (nil: none).
	relay func(netip.AddrPort) bool
}

var (
	sharedSpace = netip.MustParsePrefix("100.64.0.0/10") // RFC 6598, carrier-grade NAT
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	reserved4   = netip.MustParsePrefix("240.0.0.0/4") // broadcast included
)

// reason is why the peer may not send to ap, or "" when it may.
func (cp candidatePolicy) reason(ap netip.AddrPort) string {
	a := ap.Addr().Unmap()
	ap = netip.AddrPortFrom(a, ap.Port())
	switch {
	case ap.Port() == 0 || a.Zone() != "" || a.IsUnspecified() || a.IsMulticast() || thisNetwork.Contains(a) || reserved4.Contains(a):
		return dropAddress // never a peer
	case cp.relay != nil && cp.relay(ap):
		return ""
	case a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || sharedSpace.Contains(a):
		if slices.ContainsFunc(cp.allowed, func(p netip.Prefix) bool { return p.Contains(a) }) {
			return ""
		}
		return dropAddress
	}
	return ""
}

// filtered is an offer with the candidates the peer may use, and what was
// dropped, by reason.
type filtered struct {
	sdp     string
	kept    int
	dropped map[string]int
}

// summary names the drops, for the report's evidence ("" for none).
func (f filtered) summary() string {
	var parts []string
	for _, r := range []string{dropAddress, dropName, dropMalformed, dropBudget} {
		if n := f.dropped[r]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, r))
		}
	}
	return strings.Join(parts, ", ")
}

// filter keeps at most limit distinct candidates of offer that cp allows
// (the same candidate in several media sections counts once) and drops
// every other a=candidate line. Candidates are parsed by pion's own
// parser, so what is judged is what pion would use. Lines split as pion
// splits them; a bare CR, which parsers may read differently, refuses
// the offer.
func (cp candidatePolicy) filter(offer string, limit int) (filtered, error) {
	out := filtered{dropped: map[string]int{}}
	lines := strings.Split(offer, "\n")
	keep := make([]string, 0, len(lines))
	seen := map[string]bool{}
	for _, line := range lines {
		line = strings.TrimSuffix(line, "\r")
		if strings.ContainsAny(line, "\r\x00") {
			return out, fmt.Errorf("the offer has a bare CR or NUL")
		}
		if len(line) < len("a=candidate") || !strings.EqualFold(line[:len("a=candidate")], "a=candidate") {
			keep = append(keep, line)
			continue
		}
		why, key := cp.judge(line[len("a="):])
		switch {
		case why != "":
		case seen[key]:
			keep = append(keep, line) // counted already
			continue
		case out.kept >= limit:
			why = dropBudget
		default:
			seen[key] = true
			out.kept++
			keep = append(keep, line)
			continue
		}
		out.dropped[why]++
	}
	out.sdp = strings.Join(keep, "\r\n")
	return out, nil
}

// judge parses one candidate attribute's value ("candidate:…") and says
// why it is dropped, or its identity when it is kept.
func (cp candidatePolicy) judge(value string) (why, key string) {
	if !strings.HasPrefix(value, "candidate:") {
		return dropMalformed, "" // another case or no colon: pion would not take it either way
	}
	c, err := ice.UnmarshalCandidate(value)
	if err != nil {
		return dropMalformed, ""
	}
	a, err := netip.ParseAddr(c.Address())
	if err != nil {
		return dropName, ""
	}
	if c.Port() < 0 || c.Port() > 65535 {
		return dropMalformed, ""
	}
	ap := netip.AddrPortFrom(a, uint16(c.Port()))
	if why := cp.reason(ap); why != "" {
		return why, ""
	}
	return "", c.NetworkType().String() + " " + ap.String()
}
