package exporter

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// natServer is a STUN server on 127.0.0.1 that reports a mapped address
// not this host's (as through a NAT) and names 127.0.0.2 in OTHER-ADDRESS,
// where two sockets (its port and the other port) count what reaches them.
type natServer struct {
	addr, other *net.UDPAddr
	mu          sync.Mutex
	reached     []string // 127.0.0.2 addresses that received a datagram
}

func startNATServer(t *testing.T) *natServer {
	t.Helper()
	var primary, alt, altPort net.PacketConn
	var err error
	for range 20 {
		if primary, err = net.ListenPacket("udp4", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		port := strconv.Itoa(primary.LocalAddr().(*net.UDPAddr).Port)
		if alt, err = net.ListenPacket("udp4", "127.0.0.2:"+port); err == nil {
			break
		}
		_ = primary.Close()
	}
	if err != nil {
		t.Skipf("127.0.0.2 is not usable here: %v", err)
	}
	if altPort, err = net.ListenPacket("udp4", "127.0.0.2:0"); err != nil {
		t.Fatal(err)
	}
	s := &natServer{addr: primary.LocalAddr().(*net.UDPAddr), other: altPort.LocalAddr().(*net.UDPAddr)}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = primary.Close()
		_ = alt.Close()
		_ = altPort.Close()
		wg.Wait()
	})
	wg.Go(func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := primary.ReadFrom(buf)
			if err != nil {
				return
			}
			req := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if req.Decode() != nil || req.Type != stun.BindingRequest {
				continue
			}
			resp, err := stun.Build(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
				&stun.XORMappedAddress{IP: net.IPv4(192, 0, 2, 1), Port: 40000},
				&stun.OtherAddress{IP: s.other.IP, Port: s.other.Port}, stun.Fingerprint)
			if err == nil {
				_, _ = primary.WriteTo(resp.Raw, from)
			}
		}
	})
	for _, c := range []net.PacketConn{alt, altPort} {
		wg.Go(func() {
			buf := make([]byte, 1500)
			for {
				if _, _, err := c.ReadFrom(buf); errors.Is(err, net.ErrClosed) {
					return
				} else if err == nil {
					s.mu.Lock()
					s.reached = append(s.reached, c.LocalAddr().String())
					s.mu.Unlock()
				}
			}
		})
	}
	return s
}

func (s *natServer) reachedOther() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reached...)
}

// TestNATOtherAddressHeldToAllowList: nat.behavior sends nothing to an
// OTHER-ADDRESS outside the module's allowed_targets and says so; a
// module that allows it follows it.
func TestNATOtherAddressHeldToAllowList(t *testing.T) {
	srv := startNATServer(t)
	f := newFixture(t, fmt.Sprintf(`modules:
  nat:
    checks: [nat.behavior]
    allowed_targets: [%q]
  nat_both:
    checks: [nat.behavior]
    allowed_targets: ["127.0.0.1", "127.0.0.2"]
`, srv.addr.String()), Options{})
	target := "stun:" + srv.addr.String()
	code, body := f.get(probe("nat", target, "&debug=true"))
	want := fmt.Sprintf("OTHER-ADDRESS names 127.0.0.2:%d, which is not an allowed target, so it was not probed", srv.addr.Port)
	t.Log(body)
	if code != 200 || !strings.Contains(body, want) || !strings.Contains(body, "add the server's other address to the module's allowed_targets") {
		t.Errorf("%d, want %q in\n%s", code, want, body)
	}
	time.Sleep(100 * time.Millisecond) // a stray datagram would be in by now
	if got := srv.reachedOther(); len(got) != 0 {
		t.Errorf("the OTHER-ADDRESS outside allowed_targets was sent to: %v", got)
	}
	if code, body := f.get(probe("nat_both", target, "&debug=true")); code != 200 || strings.Contains(body, "not an allowed target") {
		t.Errorf("allowed OTHER-ADDRESS: %d\n%s", code, body)
	}
	if got := srv.reachedOther(); len(got) == 0 {
		t.Error("an allowed OTHER-ADDRESS was not followed")
	}
}
