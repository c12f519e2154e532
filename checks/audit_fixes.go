package checks

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/rtcprobe/rtcprobe/probes"
)

// auditFix is what closes one hole: coturn's settings (turnserver.conf
// lines) and the rule for any other TURN server.
type auditFix struct {
	coturn []string
	// note says what settings cannot (an upgrade, a service to move).
	note    string
	generic string
}

// Sources: coturn's turnserver.conf and README.turnserver (4.6.1), its
// ChangeLog (4.5.1.0: no-loopback-peers replaced by allow-loopback-peers;
// 4.5.2: CVE-2020-26262), and GHSA-j8mm-mpf8-gvjg (CVE-2026-27624, fixed
// in 4.9.0). coturn takes denied-peer-ip as a range "first-last".
var classFixes = map[string]auditFix{
	probes.ClassLoopback: {
		coturn:  []string{"denied-peer-ip=127.0.0.0-127.255.255.255", "denied-peer-ip=::1"},
		note:    "Remove allow-loopback-peers: coturn 4.5.1.0 and later refuse loopback peers without it (the old no-loopback-peers line is an error since 4.5.2).",
		generic: "refuse 127.0.0.0/8 and ::1 as peers",
	},
	probes.ClassUnspecified: {
		coturn:  []string{"denied-peer-ip=0.0.0.0-0.255.255.255", "denied-peer-ip=::"},
		note:    "coturn before 4.5.2 let these reach loopback (CVE-2020-26262): upgrade.",
		generic: "refuse 0.0.0.0/8 and :: as peers: sent there, datagrams reach the server host's own services",
	},
	probes.ClassMapped: {
		coturn:  []string{"denied-peer-ip=::ffff:0.0.0.0-::ffff:255.255.255.255", "denied-peer-ip=::-::ffff:ffff"},
		note:    "coturn before 4.9.0 judges these forms apart from the IPv4 address inside (CVE-2026-27624): upgrade; the two ranges close them meanwhile.",
		generic: "judge an IPv4-mapped (::ffff:a.b.c.d) or IPv4-compatible (::a.b.c.d) peer by the IPv4 address inside it, or refuse ::ffff:0:0/96 and ::/96",
	},
	probes.ClassMetadata: {
		coturn:  []string{"denied-peer-ip=169.254.0.0-169.254.255.255", "denied-peer-ip=fd00:ec2::254"},
		generic: "refuse 169.254.0.0/16 and fd00:ec2::254: a cloud's metadata service hands out the instance's credentials",
	},
	probes.ClassPrivate: {
		coturn: []string{"denied-peer-ip=10.0.0.0-10.255.255.255", "denied-peer-ip=172.16.0.0-172.31.255.255",
			"denied-peer-ip=192.168.0.0-192.168.255.255"},
		generic: "refuse 10/8, 172.16/12 and 192.168/16 unless clients must reach peers there (a TURN server for an internal network)",
	},
	probes.ClassShared: {
		coturn:  []string{"denied-peer-ip=100.64.0.0-100.127.255.255"},
		generic: "refuse 100.64.0.0/10 (carrier-grade NAT space)",
	},
	probes.ClassLinkLocal: {
		coturn:  []string{"denied-peer-ip=169.254.0.0-169.254.255.255", "denied-peer-ip=fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		generic: "refuse 169.254.0.0/16 and fe80::/10",
	},
	probes.ClassUniqueLocal: {
		coturn:  []string{"denied-peer-ip=fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		generic: "refuse fc00::/7",
	},
	probes.ClassMulticast: {
		coturn:  []string{"no-multicast-peers"},
		generic: "refuse multicast peers (224.0.0.0/4, ff00::/8)",
	},
	probes.ClassBroadcast: {
		coturn:  []string{"no-multicast-peers"},
		generic: "refuse 255.255.255.255 (coturn's no-multicast-peers refuses 224.0.0.0 and above)",
	},
	probes.ClassOwn: {
		note: "A service on the server's own address answered through its relay: bind it elsewhere (loopback, which the relay refuses), or firewall it from the relay's ports (min-port..max-port); " +
			"denied-peer-ip with the server's own address would also stop calls between two of its clients.",
		generic: "keep the server's own services out of its relays' reach: peers may need its relayed addresses, not its other ports",
	},
	probes.ClassPublic: {
		generic: "a TURN server relays to public addresses by design; deny the range if it is yours and internal",
	},
}

// tcpFixes close what a TCP relay reaches: WebRTC clients allocate UDP
// relays only (RFC 8656; TCP relays are RFC 6062's), and coturn's telnet
// CLI listens on loopback unless told not to.
var tcpFixes = []string{"no-tcp-relay", "no-cli"}

// fixFor is the fix for a class, with the internal ranges the user named
// as denied-peer-ip lines for that class.
func fixFor(class string, tcp bool, internal []netip.Prefix) auditFix {
	f := classFixes[class]
	f.coturn = slices.Clone(f.coturn)
	if class == probes.ClassInternal {
		for _, p := range internal {
			f.coturn = append(f.coturn, "denied-peer-ip="+coturnRange(p))
		}
		f.generic = "refuse the internal ranges named as peers"
	}
	if tcp {
		f.coturn = append(f.coturn, tcpFixes...)
	}
	return f
}

// coturnRange writes a prefix as coturn's "first-last" range.
func coturnRange(p netip.Prefix) string {
	p = p.Masked()
	first := p.Addr()
	last := first.As16()
	bits := p.Bits()
	if first.Is4() {
		bits += 96
	}
	for i := bits; i < 128; i++ {
		last[i/8] |= 1 << (7 - i%8)
	}
	l := netip.AddrFrom16(last)
	if first.Is4() {
		l = l.Unmap()
	}
	if l == first {
		return first.String()
	}
	return first.String() + "-" + l.String()
}

// text says the fix in one line: coturn's settings and note, then the
// rule for any TURN server.
func (f auditFix) text() string {
	var parts []string
	if len(f.coturn) > 0 {
		parts = append(parts, "coturn: "+strings.Join(f.coturn, ", ")+".")
	}
	if f.note != "" {
		parts = append(parts, f.note)
	}
	if f.generic != "" {
		parts = append(parts, "Any TURN server: "+f.generic+".")
	}
	return strings.Join(parts, " ")
}
