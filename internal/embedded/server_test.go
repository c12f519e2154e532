package embedded

import (
	"fmt"
	"net"
	"testing"

	"github.com/rtcprobe/rtcprobe/internal/testenv"
)

func TestStartServesUDPAndTCPOnOnePort(t *testing.T) {
	testenv.CheckGoroutines(t)
	a, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.Port() == b.Port() {
		t.Fatal("two servers share a port")
	}
	ua, pa := a.Credentials()
	ub, pb := b.Credentials()
	if ua == ub || pa == pb || len(pa) < 26 { // 26 base32 characters: 130 random bits
		t.Errorf("credentials are not random per server: %q/%q vs %q/%q", ua, pa, ub, pb)
	}
	servers := a.Servers()
	if len(servers) < 2 || servers[0].String() != fmt.Sprintf("stun:127.0.0.1:%d", a.Port()) {
		t.Fatalf("servers = %v", servers)
	}
	for _, s := range servers {
		if s.IsTURN() != (s.Username != "") {
			t.Errorf("%s: credentials only on TURN servers, got user %q", s, s.Username)
		}
	}
	port := a.Port()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// Close must release both sockets.
	for _, network := range []string{"udp", "tcp"} {
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		var err error
		if network == "udp" {
			var pc net.PacketConn
			if pc, err = net.ListenPacket(network, addr); err == nil {
				pc.Close()
			}
		} else {
			var l net.Listener
			if l, err = net.Listen(network, addr); err == nil {
				l.Close()
			}
		}
		if err != nil {
			t.Errorf("%s port %d still held after Close: %v", network, port, err)
		}
	}
}
