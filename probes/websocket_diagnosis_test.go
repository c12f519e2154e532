package probes_test

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

// scriptedServer accepts TCP connections on loopback, reads each request's
// head and lets answer write what it likes on the raw connection: the
// misbehaviours real servers show, byte for byte.
func scriptedServer(t *testing.T, answer func(req *http.Request, conn *net.TCPConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { _ = ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conn := c.(*net.TCPConn)
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			req, err := http.ReadRequest(bufio.NewReader(conn))
			if err == nil {
				answer(req, conn)
			}
			_ = conn.Close()
		}
	}()
	return ln.Addr().String()
}

// switching is a valid 101 for req, with extra header lines.
func switching(req *http.Request, extra string) string {
	sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(sum[:]) + "\r\n" + extra + "\r\n"
}

// closeFrame is an unmasked server close frame.
func closeFrame(code int, reason string) string {
	return string([]byte{0x88, byte(2 + len(reason)), byte(code >> 8), byte(code)}) + reason
}

// upgrade tells the Upgrade request from the follow-up GET.
func upgrade(req *http.Request) bool {
	return strings.EqualFold(req.Header.Get("Upgrade"), "websocket")
}

func TestWebSocketDiagnosis(t *testing.T) {
	testenv.CheckGoroutines(t)
	var offered string // the Sec-WebSocket-Protocol the last Upgrade carried
	tests := []struct {
		name      string
		protocols []string
		answer    func(req *http.Request, conn *net.TCPConn)
		err       func(error) bool
		words     []string // in the error
		step      string   // an observation: "STEP OUTCOME CODE"
		metrics   map[string]float64
	}{
		{name: "HTTP written after the 101",
			answer: func(req *http.Request, c *net.TCPConn) {
				fmt.Fprint(c, switching(req, "")+"HTTP/1.1 400 Bad Request\r\nContent-Length: 28\r\n\r\nUnsupported protocol version")
			},
			err:   func(err error) bool { var e *probes.FramingError; return errors.As(err, &e) },
			words: []string{"not a WebSocket frame", "RFC 6455 §5.2", `"HTTP/1.1 400 Bad Request`, "Unsupported protocol version"},
			step:  "first frame not_protocol 0"},
		{name: "close code no endpoint may send",
			answer: func(req *http.Request, c *net.TCPConn) { fmt.Fprint(c, switching(req, "")+closeFrame(5000, "")) },
			err:    func(err error) bool { var e *probes.FramingError; return errors.As(err, &e) },
			words:  []string{"close code 5000", "§7.4"},
			step:   "first frame not_protocol 0"},
		{name: "masked frame from the server",
			answer: func(req *http.Request, c *net.TCPConn) {
				fmt.Fprint(c, switching(req, "")+"\x81\x82abcd\x00\x00")
			},
			err:   func(err error) bool { var e *probes.FramingError; return errors.As(err, &e) },
			words: []string{"masked frame", "§5.1"}},
		{name: "policy close with a reason",
			answer: func(req *http.Request, c *net.TCPConn) {
				fmt.Fprint(c, switching(req, "")+closeFrame(1008, "origin not allowed"))
			},
			step:    "WebSocket close error_response 1008",
			metrics: map[string]float64{"closed_by_server": 1}},
		{name: "application close code", answer: func(req *http.Request, c *net.TCPConn) {
			fmt.Fprint(c, switching(req, "")+closeFrame(4001, "bad token"))
		}, step: "WebSocket close error_response 4001", metrics: map[string]float64{"closed_by_server": 1}},
		{name: "403 with the headers that explain it",
			answer: func(req *http.Request, c *net.TCPConn) {
				fmt.Fprint(c, "HTTP/1.1 403 Forbidden\r\nX-WebSocket-Reject-Reason: origin \x1b[31mnot allowed\r\nWWW-Authenticate: Bearer realm=\"sig\"\r\nSet-Cookie: s=1\r\nContent-Length: 9\r\n\r\nforbidden")
			},
			err: func(err error) bool {
				var e *probes.HTTPStatusError
				return errors.As(err, &e) && e.Code == 403 && e.Headers["Www-Authenticate"] == `Bearer realm="sig"` &&
					e.Headers["X-Websocket-Reject-Reason"] == `origin \x1b[31mnot allowed` && e.Headers["Set-Cookie"] == "" && e.Body == `"forbidden"`
			},
			words: []string{"403 Forbidden", "X-WebSocket-Reject-Reason"},
			step:  "HTTP Upgrade error_response 403"},
		{name: "subprotocols offered, one chosen", protocols: []string{"janus-protocol", "chat"},
			answer: func(req *http.Request, c *net.TCPConn) {
				offered = req.Header.Get("Sec-WebSocket-Protocol")
				fmt.Fprint(c, switching(req, "Sec-WebSocket-Protocol: chat\r\n"))
			},
			step: "HTTP Upgrade answered 101"},
		{name: "a subprotocol not offered", protocols: []string{"chat"},
			answer: func(req *http.Request, c *net.TCPConn) {
				fmt.Fprint(c, switching(req, "Sec-WebSocket-Protocol: mqtt\r\n"))
			},
			err:   func(err error) bool { var e *probes.SubprotocolError; return errors.As(err, &e) && e.Chosen == "mqtt" },
			words: []string{`"mqtt"`, "did not offer", "RFC 6455 §4.1"}},
		{name: "a subprotocol chosen though none was offered",
			answer: func(req *http.Request, c *net.TCPConn) {
				fmt.Fprint(c, switching(req, "Sec-WebSocket-Protocol: mqtt\r\n"))
			},
			err: func(err error) bool { var e *probes.SubprotocolError; return errors.As(err, &e) && e.Chosen == "mqtt" }},
		{name: "none chosen of those offered", protocols: []string{"chat"},
			answer: func(req *http.Request, c *net.TCPConn) { fmt.Fprint(c, switching(req, "")) },
			err:    func(err error) bool { var e *probes.SubprotocolError; return errors.As(err, &e) && e.Chosen == "" },
			words:  []string{"without choosing any"}},
		{name: "Upgrade closed, the path answers plain HTTP",
			answer: func(req *http.Request, c *net.TCPConn) {
				if !upgrade(req) {
					fmt.Fprint(c, "HTTP/1.1 200 OK\r\nServer: static\r\nContent-Length: 2\r\n\r\nok")
				}
			},
			err:   func(err error) bool { var e *probes.UpgradeClosedError; return errors.As(err, &e) && !e.Reset },
			words: []string{"closed the connection after the Upgrade request, without an HTTP answer"},
			step:  "follow-up: HTTP GET answered 200"},
		{name: "Upgrade and GET reset alike",
			answer: func(req *http.Request, c *net.TCPConn) { _ = c.SetLinger(0) },
			err:    func(err error) bool { var e *probes.UpgradeClosedError; return errors.As(err, &e) && e.Reset },
			words:  []string{"reset the connection"},
			step:   "follow-up: HTTP GET reset 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := scriptedServer(t, tt.answer)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			ctx, log := probes.Recording(ctx)
			m := probes.WebSocket(ctx, mustURL(t, "ws://"+addr+"/signal?token=secret-token"), probes.WebSocketConfig{Protocols: tt.protocols})
			obs := log.Take(m.Err)
			switch {
			case tt.err == nil && m.Err != nil:
				t.Fatalf("err = %v", m.Err)
			case tt.err != nil && (m.Err == nil || !tt.err(m.Err)):
				t.Fatalf("err = %v (%T), want another", m.Err, m.Err)
			}
			for _, w := range tt.words {
				if !strings.Contains(m.Err.Error(), w) {
					t.Errorf("error %q lacks %q", m.Err, w)
				}
			}
			var steps []string
			for _, o := range obs {
				steps = append(steps, fmt.Sprintf("%s %s %d", o.Step, o.Outcome, o.Code))
				if strings.Contains(fmt.Sprint(o), "secret-token") {
					t.Errorf("observation shows the URL's token: %+v", o)
				}
			}
			if tt.step != "" && !slices.Contains(steps, tt.step) {
				t.Errorf("observations %q lack %q", steps, tt.step)
			}
			for name, want := range tt.metrics {
				if m.Metrics[name] != want {
					t.Errorf("%s = %v, want %v", name, m.Metrics[name], want)
				}
			}
		})
	}
	if offered != "janus-protocol, chat" {
		t.Errorf("Sec-WebSocket-Protocol sent: %q, want the offered list in order", offered)
	}
}

func TestParseWSProtocols(t *testing.T) {
	got, err := probes.ParseWSProtocols(" janus-protocol ,chat")
	if err != nil || !slices.Equal(got, []string{"janus-protocol", "chat"}) {
		t.Errorf("got %q, %v", got, err)
	}
	for _, bad := range []string{"", "a b", "a,,b", "a,a", "a;b", "é"} {
		if _, err := probes.ParseWSProtocols(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
