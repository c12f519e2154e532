package hostile

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"io"
	"net"

	"github.com/pion/stun/v4"
)

// What ControlChars puts in STUN answers: a reason phrase that clears the
// screen and retitles the terminal (NUL-padded, as coturn pads), a REALM
// and a SOFTWARE with escapes and a bell.
const (
	ControlReason   = "Bad Request\x1b[2J\x1b]0;owned\x07\x00\x00\x00"
	ControlRealm    = "evil\x1b[31m.realm\x07"
	ControlSoftware = "hostile\x1b[5m 1.0\x07\x00"
)

// attrUnknownOptional is a comprehension-optional attribute type no
// registry assigns: a client must skip it.
const attrUnknownOptional stun.AttrType = 0xC0DE

const magicCookie = 0x2112A442 // RFC 8489 §5

// manyAttributes is 8000 empty-valued unknown optional attributes (64000
// bytes): nearly all a STUN message can hold.
var manyAttributes = func() []byte {
	b := make([]byte, 0, 8000*8)
	for range 8000 {
		b = binary.BigEndian.AppendUint16(b, uint16(attrUnknownOptional))
		b = append(b, 0, 4, 0, 0, 0, 0)
	}
	return b
}()

// stunAnswers decides what goes back for one STUN message from the
// client; stream is true over TCP. Nothing for modes that stay silent.
func (s *Server) stunAnswers(raw []byte, from net.Addr, stream bool) [][]byte {
	req := &stun.Message{Raw: append([]byte(nil), raw...)}
	if err := req.Decode(); err != nil || req.Type.Class != stun.ClassRequest {
		return nil
	}
	tid := stun.NewTransactionIDSetter(req.TransactionID)
	success := stun.NewType(req.Type.Method, stun.ClassSuccessResponse)
	failure := stun.NewType(req.Type.Method, stun.ClassErrorResponse)
	mapped := mappedOf(from)
	switch s.mode {
	case Healthy:
		if req.Type.Method != stun.MethodBinding {
			return nil
		}
		return [][]byte{build(tid, success, mapped, stun.NewSoftware("hostile healthy"), stun.Fingerprint)}
	case Dribble, Flood101:
		if !stream {
			return nil
		}
		return [][]byte{build(tid, success, mapped, stun.Fingerprint)}
	case WrongTransaction:
		return [][]byte{build(stun.TransactionID, success, mapped, stun.Fingerprint)}
	case Truncated:
		// XOR-MAPPED-ADDRESS claims 64 bytes; the message ends after 8.
		b := build(tid, success, mapped)
		binary.BigEndian.PutUint16(b[22:24], 64)
		return [][]byte{b}
	case AttrLength65535:
		b := make([]byte, 20+4, 20+65535)
		binary.BigEndian.PutUint16(b[0:2], uint16(success.Value()))
		binary.BigEndian.PutUint16(b[2:4], 0xFFFF)
		binary.BigEndian.PutUint32(b[4:8], magicCookie)
		copy(b[8:20], req.TransactionID[:])
		binary.BigEndian.PutUint16(b[20:22], uint16(stun.AttrXORMappedAddress))
		binary.BigEndian.PutUint16(b[22:24], 0xFFFF)
		if stream { // over TCP the whole announced length follows
			b = b[:20+65535]
		} else {
			b = append(b, make([]byte, 8)...)
		}
		return [][]byte{b}
	case ManyAttributes:
		// The valid answer, behind manyAttributes unknown attributes.
		b := build(tid, success, mapped)
		out := make([]byte, 0, len(b)+len(manyAttributes))
		out = append(append(append(out, b[:20]...), manyAttributes...), b[20:]...)
		binary.BigEndian.PutUint16(out[2:4], uint16(len(out)-20)) //nolint:gosec // under 64 KiB
		return [][]byte{out}
	case BadFamily:
		a := mapped.(*stun.XORMappedAddress)
		v := []byte{0, 0x03, 0, 0, 0, 0, 0, 0} // family 3: neither IPv4 (1) nor IPv6 (2)
		binary.BigEndian.PutUint16(v[2:4], uint16(a.Port)^uint16(magicCookie>>16))
		return [][]byte{build(tid, success, stun.RawAttribute{Type: stun.AttrXORMappedAddress, Value: v})}
	case ControlChars:
		code, reason := 400, ControlReason
		if req.Type.Method == stun.MethodAllocate {
			code, reason = 403, "Forbidden"+ControlReason[len("Bad Request"):]
			if !req.Contains(stun.AttrMessageIntegrity) {
				code, reason = 401, "Unauthorized"+ControlReason[len("Bad Request"):]
			}
		}
		return [][]byte{build(tid, failure, errorCode(code, reason), stun.NewRealm(ControlRealm),
			stun.NewNonce(freshNonce()), stun.NewSoftware(ControlSoftware), stun.Fingerprint)}
	case Fresh401:
		return [][]byte{build(tid, failure, stun.CodeUnauthorized, stun.NewRealm(Realm), stun.NewNonce(freshNonce()), stun.Fingerprint)}
	case Alternate:
		self := s.udp.LocalAddr().(*net.UDPAddr)
		return [][]byte{build(tid, failure, stun.CodeTryAlternate, &stun.AlternateServer{IP: self.IP, Port: self.Port}, stun.Fingerprint)}
	}
	return nil
}

// serveSTUNStream reads length-framed STUN requests from a TCP client and
// answers each as the mode says.
func (s *Server) serveSTUNStream(c net.Conn, br *bufio.Reader) {
	for {
		head := make([]byte, 20)
		if _, err := io.ReadFull(br, head); err != nil {
			return
		}
		raw := make([]byte, 20+int(binary.BigEndian.Uint16(head[2:4])))
		copy(raw, head)
		if _, err := io.ReadFull(br, raw[20:]); err != nil {
			return
		}
		for _, out := range s.stunAnswers(raw, c.RemoteAddr(), true) {
			switch s.mode {
			case Dribble:
				s.dribble(c, out)
			case Flood101:
				s.floodOtherTransactions(c, out)
			default:
				if _, err := c.Write(out); err != nil {
					return
				}
			}
		}
	}
}

// floodOtherTransactions sends copies of msg under random transaction
// IDs, 64 KiB at a time, without end.
func (s *Server) floodOtherTransactions(c net.Conn, msg []byte) {
	var batch []byte
	for len(batch) < 64<<10 {
		m := append([]byte(nil), msg...)
		_, _ = rand.Read(m[8:20])
		batch = append(batch, m...)
	}
	s.flood(c, batch)
}

func mappedOf(a net.Addr) stun.Setter {
	switch a := a.(type) {
	case *net.UDPAddr:
		return &stun.XORMappedAddress{IP: a.IP, Port: a.Port}
	case *net.TCPAddr:
		return &stun.XORMappedAddress{IP: a.IP, Port: a.Port}
	}
	return &stun.XORMappedAddress{IP: net.IPv4(127, 0, 0, 1), Port: 9}
}

func errorCode(code int, reason string) stun.Setter {
	return &stun.ErrorCodeAttribute{Code: stun.ErrorCode(code), Reason: []byte(reason)}
}

func freshNonce() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// build is stun.Build for answers this package composes itself: they
// cannot fail.
func build(setters ...stun.Setter) []byte {
	m, err := stun.Build(setters...)
	if err != nil {
		panic(err)
	}
	return m.Raw
}
