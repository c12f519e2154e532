package hostile

import (
	"net"
	"testing"

	"github.com/pion/stun/v4"
)

// ChangeIgnorer is a loopback STUN server that claims RFC 5780 — it names
// OTHER-ADDRESS other(self) — yet answers every request from its one
// socket, CHANGE-REQUEST or not: the server that makes NAT discovery
// inconclusive. With onChange set, a request with CHANGE-REQUEST gets no
// answer and onChange is called instead. It stops when t ends; the
// address is its own.
func ChangeIgnorer(t testing.TB, other func(self *net.UDPAddr) *net.UDPAddr, onChange func()) *net.UDPAddr {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	self := conn.LocalAddr().(*net.UDPAddr)
	done := make(chan struct{})
	t.Cleanup(func() { _ = conn.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			req := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if req.Decode() != nil {
				continue
			}
			if onChange != nil && req.Contains(stun.AttrChangeRequest) {
				onChange()
				continue
			}
			ua := from.(*net.UDPAddr)
			oa := other(self)
			resp, err := stun.Build(req, stun.BindingSuccess, &stun.XORMappedAddress{IP: ua.IP, Port: ua.Port},
				&stun.OtherAddress{IP: oa.IP, Port: oa.Port}, stun.Fingerprint)
			if err == nil {
				_, _ = conn.WriteTo(resp.Raw, from)
			}
		}
	}()
	return self
}
