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
		c("203.0.113.7", "4000"), c("::ffff:127.0.0.1", "4001"), c("abc.local", "4002"), c("10.1.2.3", "4003"),
		c("10.2.0.1", "4004"), c("224.0.0.1", "4005"), c("127.0.0.1", "50000"), "a=candidate:bogus", "A=CANDIDATE:1 1 udp 1 127.0.0.1 9 typ host",
		"m=video 9 UDP/TLS/RTP/SAVPF 96", c("203.0.113.7", "4000"), c("198.51.100.1", "4006"), ""}, "\r\n")
	f, err := cp.filter(offer, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{c("203.0.113.7", "4000"), c("10.1.2.3", "4003"), c("127.0.0.1", "50000")} {
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
	if _, err := cp.filter("v=0\r\n"+c("203.0.113.7", "1")+"\ra=candidate:2 1 udp 1 127.0.0.1 9 typ host\r\n", 16); err == nil {
		t.Error("a bare CR was accepted")
	}
}
