package hostile

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
)

// ControlStatus is the HTTP status line ControlChars sends: it clears
// the screen and retitles the terminal if shown raw, and ends in NUL
// padding.
const ControlStatus = "HTTP/1.1 403 Forbidden\x1b[2J\x1b]0;owned\x07\x00\x00\x00"

// serveHTTP answers one request, a WebSocket Upgrade or a proxy CONNECT,
// the way the mode misbehaves.
func (s *Server) serveHTTP(c net.Conn, br *bufio.Reader) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	connect := req.Method == http.MethodConnect
	status := "HTTP/1.1 101 Switching Protocols\r\n"
	if connect {
		status = "HTTP/1.1 200 Connection established\r\n"
	}
	switch s.mode {
	case HeaderLine:
		if _, err := io.WriteString(c, status+"X-Endless: "); err == nil {
			s.flood(c, bytes.Repeat([]byte("a"), 32<<10))
		}
	case HeaderCount:
		if _, err := io.WriteString(c, status); err == nil {
			s.flood(c, bytes.Repeat([]byte("X-Endless: a\r\n"), 2048))
		}
	case Flood101:
		if _, err := io.WriteString(c, answer(req)); err == nil {
			s.floodFrames(c)
		}
	case Dribble:
		s.dribble(c, []byte(answer(req)))
	case ControlChars:
		_, _ = io.WriteString(c, ControlStatus+"\r\nContent-Length: 0\r\n\r\n")
		s.drain(c)
	case Fresh401:
		nonce := make([]byte, 8)
		_, _ = rand.Read(nonce)
		if connect {
			fmt.Fprintf(c, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"%x\"\r\nContent-Length: 0\r\n\r\n", nonce)
		} else {
			fmt.Fprintf(c, "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"%x\"\r\nContent-Length: 0\r\n\r\n", nonce)
		}
		s.drain(c)
	case Healthy:
		if connect {
			s.tunnel(c, br, req.Host)
			return
		}
		if _, err := io.WriteString(c, answer(req)); err == nil {
			s.answerPings(c, br)
		}
	case Alternate:
		fmt.Fprintf(c, "HTTP/1.1 307 Temporary Redirect\r\nLocation: ws://%s%s\r\nContent-Length: 0\r\n\r\n", req.Host, req.URL.RequestURI())
		s.drain(c)
	default:
		s.drain(c)
	}
}

// drain reads until the client or Close ends the connection.
func (s *Server) drain(c net.Conn) { _, _ = io.Copy(io.Discard, c) }

// answer is the valid answer to the request: 101 with the right
// Sec-WebSocket-Accept, or 200 to a CONNECT.
func answer(req *http.Request) string {
	if req.Method == http.MethodConnect {
		return "HTTP/1.1 200 Connection established\r\n\r\n"
	}
	sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n"
}

// floodFrames sends one text message that never ends: a first fragment,
// then continuation fragments (FIN never set) of 16 KiB each.
func (s *Server) floodFrames(c net.Conn) {
	frame := func(opcode byte) []byte {
		b := make([]byte, 4+16<<10)
		b[0], b[1] = opcode, 126 // FIN clear, unmasked, 16-bit length
		binary.BigEndian.PutUint16(b[2:4], 16<<10)
		copy(b[4:], bytes.Repeat([]byte("flood "), (16<<10)/6))
		return b
	}
	if _, err := c.Write(frame(0x1)); err != nil {
		return
	}
	s.flood(c, frame(0x0))
}

// tunnel is a working CONNECT: 200, then bytes both ways.
func (s *Server) tunnel(c net.Conn, br *bufio.Reader, target string) {
	up, err := net.Dial("tcp", target)
	if err != nil {
		_, _ = io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	if !s.track(up) {
		_ = up.Close()
		return
	}
	defer s.untrack(up)
	if _, err := io.WriteString(c, answer(&http.Request{Method: http.MethodConnect})); err != nil {
		return
	}
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(c, up)
		_ = c.Close()
		close(done)
	}()
	_, _ = io.Copy(up, br)
	_ = up.Close()
	<-done
}

// answerPings reads the client's frames and answers each ping with a
// pong and a close with a close, as RFC 6455 §5.5 asks.
func (s *Server) answerPings(c net.Conn, br *bufio.Reader) {
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return
		}
		n := int(h[1] & 0x7f)
		if n >= 126 { // pings are short; anything long is not for this test server
			return
		}
		var mask [4]byte
		if _, err := io.ReadFull(br, mask[:]); err != nil {
			return
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			return
		}
		for i := range payload {
			payload[i] ^= mask[i%4]
		}
		switch h[0] & 0x0f {
		case 0x9:
			if _, err := c.Write(append([]byte{0x8A, byte(n)}, payload...)); err != nil {
				return
			}
		case 0x8:
			_, _ = c.Write([]byte{0x88, 0})
			return
		}
	}
}
