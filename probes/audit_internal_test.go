package probes

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/pion/stun/v4"
)

func TestClassOf(t *testing.T) {
	own := []netip.Addr{netip.MustParseAddr("198.51.100.7")}
	internal := []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}
	for addr, want := range map[string]string{
		"127.0.0.1":              ClassLoopback,
		"127.9.9.9":              ClassLoopback,
		"::1":                    ClassLoopback,
		"0.0.0.0":                ClassUnspecified,
		"0.1.2.3":                ClassUnspecified,
		"::":                     ClassUnspecified,
		"::ffff:127.0.0.1":       ClassMapped,
		"::127.0.0.1":            ClassMapped,
		"::ffff:169.254.169.254": ClassMapped,
		"169.254.169.254":        ClassMetadata,
		"fd00:ec2::254":          ClassMetadata,
		"169.254.0.1":            ClassLinkLocal,
		"fe80::1":                ClassLinkLocal,
		"10.0.0.1":               ClassPrivate,
		"10.20.3.4":              ClassInternal,
		"172.31.0.1":             ClassPrivate,
		"100.64.0.1":             ClassShared,
		"fc00::1":                ClassUniqueLocal,
		"224.0.0.1":              ClassMulticast,
		"ff02::1":                ClassMulticast,
		"255.255.255.255":        ClassBroadcast,
		"198.51.100.7":           ClassOwn,
		"8.8.8.8":                ClassPublic,
	} {
		if got := ClassOf(netip.MustParseAddr(addr), own, internal); got != want {
			t.Errorf("ClassOf(%s) = %s, want %s", addr, got, want)
		}
	}
	// Every fixed address of a class is of that class.
	for _, c := range AuditClasses() {
		for _, a := range c.Addrs {
			if got := ClassOf(a, nil, nil); got != c.Name {
				t.Errorf("%s lists %s, which is %s", c.Name, a, got)
			}
		}
	}
}

func TestParseWitnesses(t *testing.T) {
	ws, err := ParseWitnesses("udp:10.0.0.5:9999, tcp:[fd00::5]:7000")
	if err != nil || len(ws) != 2 || ws[1].Network != "tcp" || ws[1].Addr.String() != "[fd00::5]:7000" {
		t.Fatalf("%v %v", ws, err)
	}
	for _, bad := range []string{"", "udp:10.0.0.5", "sctp:10.0.0.5:1", "udp:host.example:9", "udp:10.0.0.5:0", "udp:1.2.3.4:5,udp:1.2.3.4:5",
		strings.Repeat("udp:10.0.0.1:1,", 16) + "udp:10.0.0.2:1"} {
		if _, err := ParseWitnesses(bad); err == nil {
			t.Errorf("ParseWitnesses(%q) took it", bad)
		}
	}
}

func TestParseInternalRanges(t *testing.T) {
	ps, err := ParseInternalRanges("10.1.2.3/8,fd12::/48,192.0.2.7")
	if err != nil || len(ps) != 3 || ps[0].String() != "10.0.0.0/8" || ps[2].String() != "192.0.2.7/32" {
		t.Fatalf("%v %v", ps, err)
	}
	if got := rangeProbe(ps[0]); got.String() != "10.0.0.1" {
		t.Errorf("probe of 10.0.0.0/8: %s", got)
	}
	if got := rangeProbe(ps[2]); got.String() != "192.0.2.7" {
		t.Errorf("probe of one address: %s", got)
	}
	for _, bad := range []string{"", "10.0.0.0/33", "intranet", "10.0.0.0/8,10.0.0.0/8", "fe80::1%eth0"} {
		if _, err := ParseInternalRanges(bad); err == nil {
			t.Errorf("ParseInternalRanges(%q) took it", bad)
		}
	}
}

// TestPeerAddressKeepsItsFamily: ::ffff:127.0.0.1 goes out as a 16-byte
// IPv6 address (family 2), not folded into 127.0.0.1: the form a server
// must recognise.
func TestPeerAddressKeepsItsFamily(t *testing.T) {
	for _, tt := range []struct {
		peer   string
		family byte
	}{{"[::ffff:127.0.0.1]:7000", 2}, {"127.0.0.1:7000", 1}, {"[::1]:7000", 2}, {"[::127.0.0.1]:7000", 2}} {
		ap := netip.MustParseAddrPort(tt.peer)
		m, err := stun.Build(stun.TransactionID, stun.NewType(stun.MethodCreatePermission, stun.ClassRequest), peerAddressAs(ap))
		if err != nil {
			t.Fatal(err)
		}
		v, err := m.Get(stun.AttrXORPeerAddress)
		if err != nil {
			t.Fatal(err)
		}
		if v[1] != tt.family || len(v) != 4+ap.Addr().BitLen()/8 {
			t.Errorf("%s: family %d, %d bytes", tt.peer, v[1], len(v))
		}
		port := binary.BigEndian.Uint16(v[2:4]) ^ uint16(magicCookie>>16)
		var key [16]byte
		binary.BigEndian.PutUint32(key[:4], magicCookie)
		copy(key[4:], m.TransactionID[:])
		ip := make([]byte, len(v)-4)
		for i := range ip {
			ip[i] = v[4+i] ^ key[i]
		}
		got, _ := netip.AddrFromSlice(ip)
		if netip.AddrPortFrom(got, port) != ap {
			t.Errorf("%s decodes as %s", tt.peer, netip.AddrPortFrom(got, port))
		}
	}
}

// TestPeersFor: a witness replaces a class's own peer at the same
// address, each witness brings its other forms, and a relay is asked only
// about what its family can reach.
func TestPeersFor(t *testing.T) {
	a := &auditor{t: Target{}, cfg: AuditConfig{Witnesses: []Witness{
		{Network: "udp", Addr: netip.MustParseAddrPort("127.0.0.1:7000")},
		{Network: "tcp", Addr: netip.MustParseAddrPort("169.254.169.254:80")},
	}}}
	v4 := a.peersFor(false, false)
	has := func(ps []auditPeer, addr string, witness bool) bool {
		return slices.ContainsFunc(ps, func(p auditPeer) bool { return p.addr.String() == addr && (p.witness != nil) == witness })
	}
	for _, want := range []string{"127.0.0.1:7000", "[::ffff:127.0.0.1]:7000", "0.0.0.0:7000"} {
		if !has(v4, want, true) {
			t.Errorf("UDP/IPv4 relay: no witness form %s", want)
		}
	}
	if has(v4, "[::1]:9", false) || !has(v4, "[::ffff:127.0.0.1]:9", false) {
		t.Error("UDP/IPv4 relay: asked about IPv6, or not about IPv4-in-IPv6 forms")
	}
	tcp := a.peersFor(false, true)
	if !has(tcp, "169.254.169.254:80", true) || has(tcp, "169.254.169.254:80", false) {
		t.Errorf("TCP relay: the metadata witness did not take the class's own port 80: %v", tcp)
	}
	if has(tcp, "127.0.0.1:7000", true) {
		t.Error("a UDP witness asked over the TCP relay")
	}
}
