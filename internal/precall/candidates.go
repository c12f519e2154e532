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
	dropAddress   = "address"   // not globally reachable (loopback, private, link-local, documentation, NAT64 of such, …) and not allowed
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
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	reserved4   = netip.MustParsePrefix("240.0.0.0/4") // broadcast included
)

// Where the server's peer may send without the operator's leave: globally
// reachable unicast addresses. The rule is the IANA special-purpose
// address registries (IPv4 and IPv6): a range whose "Globally Reachable"
// is False, or N/A (deprecated), is not public, except the narrower
// entries inside it that are True. Besides those, IPv6 outside 2000::/3
// (global unicast, the only space allocated) and the deprecated
// site-local fec0::/10 are not public, and an IPv6 address that embeds an
// IPv4 one (NAT64, 6to4, SIIT, IPv4-mapped) is as public as its IPv4
// address: a NAT64 or 6to4 gateway would deliver the checks there.
var (
	notGlobal4 = prefixes(
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4")
	global4    = prefixes("192.0.0.9/32", "192.0.0.10/32") // PCP and TURN anycast
	notGlobal6 = prefixes(
		"::/8",           // unspecified, loopback, IPv4-compatible (deprecated), IPv4-mapped, SIIT: judged apart
		"64:ff9b:1::/48", // NAT64 local use (RFC 8215)
		"100::/64",       // discard only
		"100:0:0:1::/64", // dummy prefix
		"2001::/23",      // IETF protocol assignments, Teredo and benchmarking included
		"2001:db8::/32",  // documentation
		"2002::/16",      // 6to4 (N/A): judged by its IPv4 address
		"3fff::/20",      // documentation
		"5f00::/16",      // SRv6 SIDs
		"fc00::/7",       // unique local
		"fe80::/10",      // link-local
		"fec0::/10",      // site-local (deprecated)
		"ff00::/8")       // multicast
	global6 = prefixes(
		"2001:1::1/128", "2001:1::2/128", "2001:1::3/128", // PCP, TURN and DNS-SD SRP anycast
		"2001:3::/32",     // AMT
		"2001:4:112::/48", // AS112
		"2001:20::/28",    // ORCHIDv2
		"2001:30::/28")    // DRIP
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
	teredo         = netip.MustParsePrefix("2001::/32")
	sixToFour      = netip.MustParsePrefix("2002::/16")
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local     = netip.MustParsePrefix("64:ff9b:1::/48")
	compatible     = netip.MustParsePrefix("::/96")
	siit           = netip.MustParsePrefix("::ffff:0:0:0/96")
)

func prefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, p := range s {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

func within(ps []netip.Prefix, a netip.Addr) bool {
	return slices.ContainsFunc(ps, func(p netip.Prefix) bool { return p.Contains(a) })
}

// v4At is the IPv4 address in bytes at of a (RFC 6052 layouts skip byte 8).
func v4At(a netip.Addr, at ...int) netip.Addr {
	b := a.As16()
	return netip.AddrFrom4([4]byte{b[at[0]], b[at[1]], b[at[2]], b[at[3]]})
}

// public reports whether a is a globally reachable unicast address.
func public(a netip.Addr) bool {
	a = a.Unmap()
	if a.Is4() {
		return !within(notGlobal4, a) || within(global4, a)
	}
	switch {
	case a.Zone() != "":
		return false
	case nat64.Contains(a), siit.Contains(a):
		return public(v4At(a, 12, 13, 14, 15))
	case sixToFour.Contains(a):
		return public(v4At(a, 2, 3, 4, 5))
	case nat64Local.Contains(a):
		// Its IPv4 address sits where the gateway's prefix length puts
		// it, which the offer does not tell: public only if public in
		// every RFC 6052 layout a prefix within the /48 may have.
		return public(v4At(a, 6, 7, 9, 10)) && public(v4At(a, 7, 9, 10, 11)) &&
			public(v4At(a, 9, 10, 11, 12)) && public(v4At(a, 12, 13, 14, 15))
	case compatible.Contains(a), teredo.Contains(a):
		return false // deprecated, or the client address obfuscated: never needed
	case within(global6, a):
		return true
	}
	return globalUnicast6.Contains(a) && !within(notGlobal6, a)
}

// reason is why the peer may not send to ap, or "" when it may.
func (cp candidatePolicy) reason(ap netip.AddrPort) string {
	a := ap.Addr().Unmap()
	ap = netip.AddrPortFrom(a, ap.Port())
	switch {
	case ap.Port() == 0 || a.Zone() != "" || a.IsUnspecified() || a.IsMulticast() || thisNetwork.Contains(a) || reserved4.Contains(a):
		return dropAddress // never a peer
	case cp.relay != nil && cp.relay(ap):
		return ""
	case public(a):
		return ""
	case within(cp.allowed, a):
		// Loopback, private, link-local, shared, documentation, …, or an
		// IPv6 form of such an IPv4 address: the operator's networks.
		return ""
	}
	return dropAddress
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
