//go:build linux

package probes

import (
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestPeerNetReadBuffer: the peers' UDP sockets, both kinds ICE opens, get
// the larger receive buffer, as far as the kernel allows (Linux reports
// twice what it grants).
func TestPeerNetReadBuffer(t *testing.T) {
	raw, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Skipf("no rmem_max to read: %v", err)
	}
	max, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	want := 2 * min(max, peerReadBuffer)
	n, err := newPeerNet()
	if err != nil {
		t.Fatal(err)
	}
	u, err := n.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	p, err := n.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for name, c := range map[string]any{"ListenUDP": u, "ListenPacket": p} {
		sc, ok := c.(syscall.Conn)
		if !ok {
			t.Fatalf("%s: %T has no file descriptor", name, c)
		}
		rc, err := sc.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var got int
		var serr error
		if err := rc.Control(func(fd uintptr) { got, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF) }); err != nil || serr != nil {
			t.Fatal(err, serr)
		}
		if got < want {
			t.Errorf("%s: receive buffer %d bytes, want %d (rmem_max %d)", name, got, want, max)
		}
	}
}
