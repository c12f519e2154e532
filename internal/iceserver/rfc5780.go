package iceserver

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/pion/stun/v4"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"

	"github.com/rtcprobe/rtcprobe/probes"
)

// RFC 5780 CHANGE-REQUEST flags.
const (
	changeIP   = 0x04
	changePort = 0x02
)

// NATResponder answers NAT behaviour discovery (RFC 5780) over UDP: it
// listens on two addresses × two ports, names the other pair in
// OTHER-ADDRESS, says which socket answered in RESPONSE-ORIGIN and honours
// CHANGE-REQUEST by answering from another address or port.
type NATResponder struct {
	// conns[a][p] is address a (0 primary, 1 alternate), port p.
	conns [2][2]net.PacketConn
	wg    sync.WaitGroup
}

// StartNATResponder listens on ip1 and ip2 (two different addresses, e.g.
// 127.0.0.1 and 127.0.0.2) on two ports free on both. n is the network to
// listen on: nil for the host's, a pion vnet Net in tests.
func StartNATResponder(n transport.Net, ip1, ip2 string) (*NATResponder, error) {
	if n == nil {
		var err error
		if n, err = stdnet.NewNet(); err != nil {
			return nil, fmt.Errorf("NAT responder: %w", err)
		}
	}
	r := &NATResponder{}
	var lastErr error
	for range 20 {
		if lastErr = r.listen(n, ip1, ip2); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		return nil, fmt.Errorf("NAT responder on %s and %s: %w", ip1, ip2, lastErr)
	}
	for a := range 2 {
		for p := range 2 {
			r.wg.Go(func() { r.serve(a, p) })
		}
	}
	return r, nil
}

// listen binds the four sockets: two ephemeral ports on ip1, then the same
// ports on ip2. Any failure releases what was bound so the caller retries.
func (r *NATResponder) listen(n transport.Net, ip1, ip2 string) (err error) {
	defer func() {
		if err != nil {
			r.closeAll()
		}
	}()
	for p := range 2 {
		if r.conns[0][p], err = n.ListenPacket("udp4", net.JoinHostPort(ip1, "0")); err != nil {
			return err
		}
		port := strconv.Itoa(r.conns[0][p].LocalAddr().(*net.UDPAddr).Port)
		if r.conns[1][p], err = n.ListenPacket("udp4", net.JoinHostPort(ip2, port)); err != nil {
			return err
		}
	}
	return nil
}

func (r *NATResponder) closeAll() {
	for a := range 2 {
		for p := range 2 {
			if r.conns[a][p] != nil {
				_ = r.conns[a][p].Close()
				r.conns[a][p] = nil
			}
		}
	}
}

// Addr is the primary address:port, the one clients start with.
func (r *NATResponder) Addr() *net.UDPAddr { return r.conns[0][0].LocalAddr().(*net.UDPAddr) }

// Server is the stun: URI of the primary address.
func (r *NATResponder) Server() probes.Server {
	s, err := probes.ParseServer("stun:" + r.Addr().String())
	if err != nil {
		panic(err) // built from our own socket's address
	}
	return s
}

// Close stops answering and releases the sockets.
func (r *NATResponder) Close() error {
	if r == nil {
		return errors.New("NAT responder not started")
	}
	for a := range 2 {
		for p := range 2 {
			_ = r.conns[a][p].Close()
		}
	}
	r.wg.Wait()
	return nil
}

func (r *NATResponder) serve(a, p int) {
	conn := r.conns[a][p]
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			return // closed
		}
		req := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if req.Decode() != nil || req.Type != stun.BindingRequest {
			continue
		}
		ra, rp := a, p
		if v, err := req.Get(stun.AttrChangeRequest); err == nil && len(v) == 4 {
			if v[3]&changeIP != 0 {
				ra = 1 - a
			}
			if v[3]&changePort != 0 {
				rp = 1 - p
			}
		}
		out := r.conns[ra][rp]
		udp, ok := from.(*net.UDPAddr)
		if !ok || out == nil {
			continue
		}
		origin := out.LocalAddr().(*net.UDPAddr)
		other := r.conns[1-a][1-p].LocalAddr().(*net.UDPAddr)
		resp, err := stun.Build(req, stun.BindingSuccess,
			&stun.XORMappedAddress{IP: udp.IP, Port: udp.Port},
			&stun.OtherAddress{IP: other.IP, Port: other.Port},
			&stun.ResponseOrigin{IP: origin.IP, Port: origin.Port},
			stun.Fingerprint)
		if err != nil {
			continue
		}
		_, _ = out.WriteTo(resp.Raw, from)
	}
}

// NATServers are the embedded server's RFC 5780 responder, for nat.behavior.
func (s *Server) NATServers() []probes.Server { return []probes.Server{s.nat.Server()} }
