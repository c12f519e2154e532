package iceserver

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
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
	// The one port answers a STUN Binding over UDP and over TCP.
	for _, network := range []string{"udp", "tcp"} {
		if err := bindingOver(network, fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
			t.Errorf("Binding over %s to port %d: %v", network, port, err)
		}
	}
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

// bindingOver sends one STUN Binding request over network to addr and
// checks the success response.
func bindingOver(network, addr string) error {
	c, err := net.DialTimeout(network, addr, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest)
	if _, err := c.Write(req.Raw); err != nil {
		return err
	}
	buf := make([]byte, 1500)
	n, err := c.Read(buf) // one small response: one read on loopback
	if err != nil {
		return err
	}
	res := &stun.Message{Raw: buf[:n]}
	if err := res.Decode(); err != nil {
		return err
	}
	if res.Type != stun.BindingSuccess || res.TransactionID != req.TransactionID {
		return fmt.Errorf("got %s, want the Binding success for our transaction", res.Type)
	}
	return nil
}
