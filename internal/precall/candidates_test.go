package precall

import (
	"net/netip"
	"strings"
	"testing"
)

// TestCandidateFilter: what the offer filter keeps and why it drops the
// rest: disguised loopback (IPv4-mapped), names, the same candidate in two
// media sections counted once, the embedded server's relays, a bare CR.
func TestCandidateFilter(t *testing.T) {
	relay := netip.MustParseAddrPort("127.0.0.1:50000")
	cp := candidatePolicy{allowed: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, relay: func(ap netip.AddrPort) bool { return ap == relay }}
	c := func(addr, port string) string {
		return "a=candidate:1 1 udp 2122260223 " + addr + " " + port + " typ host"
	}
	offer := strings.Join([]string{"v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 111",
		c("93.184.215.14", "4000"), c("::ffff:127.0.0.1", "4001"), c("abc.local", "4002"), c("10.1.2.3", "4003"),
		c("10.2.0.1", "4004"), c("224.0.0.1", "4005"), c("127.0.0.1", "50000"), "a=candidate:bogus", "A=CANDIDATE:1 1 udp 1 127.0.0.1 9 typ host",
		"m=video 9 UDP/TLS/RTP/SAVPF 96", c("93.184.215.14", "4000"), c("151.101.1.1", "4006"), ""}, "\r\n")
	f, err := cp.filter(offer, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{c("93.184.215.14", "4000"), c("10.1.2.3", "4003"), c("127.0.0.1", "50000")} {
		if !strings.Contains(f.sdp, want) {
			t.Errorf("dropped %s", want)
		}
	}
	if strings.Count(f.sdp, "a=candidate") != 4 || f.kept != 3 {
		t.Errorf("kept %d (%d lines): %s", f.kept, strings.Count(f.sdp, "a=candidate"), f.sdp)
	}
	if got := f.summary(); got != "3 address, 1 name, 2 malformed, 1 budget" {
		t.Errorf("dropped: %s", got)
	}
	if _, err := cp.filter("v=0\r\n"+c("93.184.215.14", "1")+"\ra=candidate:2 1 udp 1 127.0.0.1 9 typ host\r\n", 16); err == nil {
		t.Error("a bare CR was accepted")
	}
}

// TestCandidateAddresses: the peer sends only to globally reachable
// addresses (the IANA special-purpose registries' rule) unless the
// operator allows the network, whatever IPv6 form hides an IPv4 address
// that is not: NAT64 (64:ff9b::/96, 64:ff9b:1::/48 in any RFC 6052
// layout), IPv4-compatible, 6to4, SIIT, Teredo; and not to site-local,
// discard-only, documentation and benchmarking ranges.
func TestCandidateAddresses(t *testing.T) {
	allowed := candidatePolicy{allowed: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("64:ff9b::/96")}}
	none := candidatePolicy{}
	for _, tc := range []struct {
		addr string
		keep bool // by default (public)
		// allowed: kept when allowed's networks contain it
		allowed bool
	}{
		{"8.8.8.8", true, true},
		{"2606:4700::1111", true, true},
		{"64:ff9b::808:808", true, true},                       // NAT64 of 8.8.8.8
		{"2002:808:808::1", true, true},                        // 6to4 of 8.8.8.8
		{"64:ff9b:1:808:8:808:808:808", true, true},            // 8.8.8.8 in every layout
		{"192.0.0.10", true, true},                             // TURN anycast
		{"2001:1::2", true, true},                              // TURN anycast
		{"64:ff9b::a00:5", false, true},                        // NAT64 → 10.0.0.5 (the NAT64 prefix is allowed)
		{"64:ff9b::a9fe:a9fe", false, true},                    // NAT64 → 169.254.169.254
		{"64:ff9b:1::a9fe:a9fe", false, false},                 // local-use NAT64 → 169.254.169.254
		{"64:ff9b:1:a9fe:a9:fe00::", false, false},             // the same in the /48 layout
		{"64:ff9b:1:808:8:808:a00:5", false, false},            // public but for the /96 layout
		{"::7f00:1", false, false},                             // IPv4-compatible 127.0.0.1
		{"::808:808", false, false},                            // IPv4-compatible, deprecated: never public
		{"2002:7f00:1::1", false, false},                       // 6to4 of 127.0.0.1
		{"2002:a00:5::1", false, false},                        // 6to4 of 10.0.0.5
		{"::ffff:0:7f00:1", false, false},                      // SIIT 127.0.0.1
		{"::ffff:127.0.0.1", false, false},                     // IPv4-mapped 127.0.0.1
		{"::ffff:10.0.0.5", false, true},                       // IPv4-mapped 10.0.0.5 is 10.0.0.5
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", false, false}, // Teredo
		{"fec0::1", false, false},                              // site-local
		{"100::1", false, false},                               // discard only
		{"2001:db8::1", false, false},                          // documentation
		{"3fff::1", false, false},                              // documentation
		{"2001:2::1", false, false},                            // benchmarking
		{"4000::1", false, false},                              // outside global unicast
		{"fd00::1", false, true},                               // unique local
		{"192.0.2.1", false, false},                            // TEST-NET-1
		{"198.51.100.1", false, false},                         // TEST-NET-2
		{"203.0.113.7", false, false},                          // TEST-NET-3
		{"198.18.0.1", false, false},                           // benchmarking
		{"192.0.0.8", false, false},                            // IETF protocol assignments
		{"192.88.99.1", false, false},                          // 6to4 relay anycast (deprecated)
		{"10.0.0.5", false, true},
	} {
		ap := netip.AddrPortFrom(netip.MustParseAddr(tc.addr), 4000)
		if got := none.reason(ap) == ""; got != tc.keep {
			t.Errorf("%s: kept %v by default, want %v", tc.addr, got, tc.keep)
		}
		if got := allowed.reason(ap) == ""; got != tc.allowed {
			t.Errorf("%s: kept %v with %v allowed, want %v", tc.addr, got, allowed.allowed, tc.allowed)
		}
	}
}
