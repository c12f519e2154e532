package probes

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// A TURN server relays to whatever peer address a client with credentials
// names, and every WebRTC client gets credentials. The audit asks the
// server about one or a few addresses of each class a relay must never
// reach (or that an operator must decide about): the classes below, the
// server's own addresses and the ranges the user names as internal.

// AuditClass is one class of peer addresses the audit asks about.
type AuditClass struct {
	// Name is the class's key: "loopback", "metadata".
	Name string
	// Title says what the class holds, for people.
	Title string
	// Addrs are the addresses asked about whatever the run: the
	// unusual encodings of each class included (0.0.0.0, ::,
	// ::ffff:127.0.0.1). The own and internal classes get theirs from
	// the run.
	Addrs []netip.Addr
	// TCPPorts are where a TCP relay's Connect goes without a witness:
	// the services a hole there would expose first (none: the class is
	// not asked over TCP).
	TCPPorts []uint16
}

// The classes, in report order. Own and internal have no fixed
// addresses: the server's and the user's.
const (
	ClassLoopback    = "loopback"
	ClassUnspecified = "unspecified"
	ClassMapped      = "ipv4-in-ipv6"
	ClassMetadata    = "metadata"
	ClassPrivate     = "private"
	ClassShared      = "shared"
	ClassLinkLocal   = "link-local"
	ClassUniqueLocal = "unique-local"
	ClassMulticast   = "multicast"
	ClassBroadcast   = "broadcast"
	ClassOwn         = "own"
	ClassInternal    = "internal"
	// ClassPublic holds a witness on none of the above.
	ClassPublic = "public"
)

// coturn's own services on its host: the telnet CLI (cli-port) and the
// HTTP admin (web-admin-port), both on loopback by default.
const (
	coturnCLIPort      = 5766
	coturnWebAdminPort = 8080
	httpPort           = 80
)

var auditClasses = []AuditClass{
	{Name: ClassLoopback, Title: "loopback (127.0.0.0/8, ::1)",
		Addrs: addrs("127.0.0.1", "127.1.2.3", "::1"), TCPPorts: []uint16{coturnCLIPort, coturnWebAdminPort}},
	{Name: ClassUnspecified, Title: "unspecified (0.0.0.0, ::), which reach this host's own services",
		Addrs: addrs("0.0.0.0", "::"), TCPPorts: []uint16{coturnCLIPort}},
	{Name: ClassMapped, Title: "IPv4 in IPv6 forms (::ffff:127.0.0.1, ::127.0.0.1)",
		Addrs:    addrs("::ffff:127.0.0.1", "::ffff:0.0.0.0", "::127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254"),
		TCPPorts: []uint16{coturnCLIPort}},
	{Name: ClassMetadata, Title: "cloud metadata (169.254.169.254, fd00:ec2::254)",
		Addrs: addrs("169.254.169.254", "fd00:ec2::254"), TCPPorts: []uint16{httpPort}},
	{Name: ClassPrivate, Title: "private networks (RFC 1918: 10/8, 172.16/12, 192.168/16)",
		Addrs: addrs("10.0.0.1", "172.16.0.1", "192.168.0.1"), TCPPorts: []uint16{httpPort}},
	{Name: ClassShared, Title: "shared address space (RFC 6598: 100.64/10)",
		Addrs: addrs("100.64.0.1"), TCPPorts: []uint16{httpPort}},
	{Name: ClassLinkLocal, Title: "link-local (169.254/16, fe80::/10)",
		Addrs: addrs("169.254.0.1", "fe80::1"), TCPPorts: []uint16{httpPort}},
	{Name: ClassUniqueLocal, Title: "unique local IPv6 (fc00::/7)",
		Addrs: addrs("fc00::1", "fd00::1")},
	{Name: ClassMulticast, Title: "multicast (224/4, ff00::/8)",
		Addrs: addrs("224.0.0.1", "239.255.255.250", "ff02::1")},
	{Name: ClassBroadcast, Title: "broadcast (255.255.255.255)",
		Addrs: addrs("255.255.255.255")},
	{Name: ClassOwn, Title: "the server's own addresses (where it listens and relays from)",
		TCPPorts: []uint16{coturnCLIPort, coturnWebAdminPort}},
	{Name: ClassInternal, Title: "the internal ranges named", TCPPorts: []uint16{httpPort}},
}

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

// AuditClasses lists the classes the audit asks about, in report order.
func AuditClasses() []AuditClass { return slices.Clone(auditClasses) }

// LookupAuditClass finds a class by name.
func LookupAuditClass(name string) (AuditClass, bool) {
	for _, c := range auditClasses {
		if c.Name == name {
			return c, true
		}
	}
	return AuditClass{}, false
}

var (
	metadataAddrs = addrs("169.254.169.254", "fd00:ec2::254")
	sharedSpace   = netip.MustParsePrefix("100.64.0.0/10")
	uniqueLocal   = netip.MustParsePrefix("fc00::/7")
	broadcast     = netip.MustParseAddr("255.255.255.255")
)

// ClassOf names the class of a: the first that holds it, the most
// specific first (metadata before link-local, a range the user names
// before the private ranges it may lie in). own are the server's
// addresses.
func ClassOf(a netip.Addr, own []netip.Addr, internal []netip.Prefix) string {
	switch {
	case slices.Contains(metadataAddrs, a) || a.Is4In6() && slices.Contains(metadataAddrs, a.Unmap()):
		if a.Is4In6() {
			return ClassMapped
		}
		return ClassMetadata
	case a.Is4In6() || ipv4Compatible(a):
		return ClassMapped
	case a.IsLoopback():
		return ClassLoopback
	case a.IsUnspecified() || a.Is4() && a.As4()[0] == 0:
		return ClassUnspecified
	case slices.Contains(own, a):
		return ClassOwn
	case slices.ContainsFunc(internal, func(p netip.Prefix) bool { return p.Contains(a) }):
		return ClassInternal
	case a.Is4() && a.IsPrivate():
		return ClassPrivate
	case sharedSpace.Contains(a):
		return ClassShared
	case a.IsLinkLocalUnicast():
		return ClassLinkLocal
	case uniqueLocal.Contains(a):
		return ClassUniqueLocal
	case a.IsMulticast():
		return ClassMulticast
	case a == broadcast:
		return ClassBroadcast
	}
	return ClassPublic
}

// ipv4Compatible: a deprecated IPv4-compatible IPv6 address ::a.b.c.d
// (RFC 4291 §2.5.5.1), other than :: and ::1.
func ipv4Compatible(a netip.Addr) bool {
	if !a.Is6() || a.Is4In6() || a.IsUnspecified() || a.IsLoopback() {
		return false
	}
	b := a.As16()
	return [12]byte(b[:12]) == [12]byte{}
}

// Witness is a listener of the user's that answers audit markers (rtcprobe
// witness): where a datagram or connection through the relay can be
// proven to arrive, not only granted.
type Witness struct {
	// Network is "udp" or "tcp".
	Network string
	Addr    netip.AddrPort
}

func (w Witness) String() string { return w.Network + ":" + w.Addr.String() }

// maxWitnesses bounds what one audit sends markers to.
const maxWitnesses = 16

// ParseWitnesses reads a comma-separated list of udp:HOST:PORT and
// tcp:HOST:PORT listeners (IPv6 hosts in brackets), each named once.
func ParseWitnesses(text string) ([]Witness, error) {
	var out []Witness
	for _, e := range strings.Split(text, ",") {
		e = strings.TrimSpace(e)
		network, rest, ok := strings.Cut(e, ":")
		if !ok || network != "udp" && network != "tcp" {
			return nil, fmt.Errorf("entry %q: want udp:HOST:PORT or tcp:HOST:PORT", e)
		}
		ap, err := netip.ParseAddrPort(rest)
		if err != nil || ap.Port() == 0 {
			return nil, fmt.Errorf("entry %q: want an IP address and a port from 1 to 65535, like udp:10.0.0.5:9999 or tcp:[fd00::5]:9999", e)
		}
		w := Witness{Network: network, Addr: ap}
		if slices.Contains(out, w) {
			return nil, fmt.Errorf("entry %q: named twice", e)
		}
		out = append(out, w)
	}
	if len(out) > maxWitnesses {
		return nil, fmt.Errorf("%d witnesses: at most %d", len(out), maxWitnesses)
	}
	return out, nil
}

// maxInternal bounds the ranges one audit asks about.
const maxInternal = 32

// ParseInternalRanges reads a comma-separated list of CIDR ranges the
// user calls internal (10.0.0.0/8,fd12::/48), or single addresses.
func ParseInternalRanges(text string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, e := range strings.Split(text, ",") {
		e = strings.TrimSpace(e)
		p, err := netip.ParsePrefix(e)
		if err != nil {
			a, aerr := netip.ParseAddr(e)
			if aerr != nil || a.Zone() != "" {
				return nil, fmt.Errorf("entry %q: want a range like 10.0.0.0/8 or an address", e)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		p = p.Masked()
		if slices.Contains(out, p) {
			return nil, fmt.Errorf("entry %q: named twice", e)
		}
		out = append(out, p)
	}
	if len(out) > maxInternal {
		return nil, fmt.Errorf("%d ranges: at most %d", len(out), maxInternal)
	}
	return out, nil
}

// rangeProbe is the address asked about for an internal range: its first
// host (10.0.0.0/8 → 10.0.0.1), or the address itself.
func rangeProbe(p netip.Prefix) netip.Addr {
	a := p.Addr()
	if p.Bits() < a.BitLen() {
		if next := a.Next(); next.IsValid() {
			return next
		}
	}
	return a
}
