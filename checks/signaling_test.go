package checks

import (
	"bufio"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/probes"
)

// TestSignalingCheck runs signaling.websocket against a real wss://
// server directly, through a real tinyproxy, through a tinyproxy that
// refuses CONNECT to the port, and with a certificate about to expire.
func TestSignalingCheck(t *testing.T) {
	serve := func(days int) (string, *tls.Config) {
		cert, err := netlab.NewCert(time.Now().Add(time.Duration(days)*24*time.Hour+time.Hour), "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewUnstartedServer(websocket.Server{Handler: func(ws *websocket.Conn) { _, _ = io.Copy(ws, ws) }})
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return "wss://" + srv.Listener.Addr().String() + "/ws", &tls.Config{RootCAs: cert.Pool}
	}
	good, goodTLS := serve(90)
	expiring, expiringTLS := serve(5)
	proxy, strict := netlab.StartTinyproxy(t), netlab.StartTinyproxy(t, 443)

	tests := []struct {
		name   string
		url    string
		tls    *tls.Config
		via    *url.URL
		status Status
		proxy  string // evidence "proxy" prefix
		advice string
	}{
		{name: "direct", url: good, tls: goodTLS, status: Pass, proxy: "none (direct)"},
		{name: "via tinyproxy", url: good, tls: goodTLS, via: proxy, status: Pass, proxy: "via " + proxy.String()},
		{name: "proxy refuses CONNECT", url: good, tls: goodTLS, via: strict, status: Fail, proxy: "via " + strict.String(),
			advice: "allow CONNECT"},
		{name: "certificate expires in 5 days", url: expiring, tls: expiringTLS, status: Warn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := probes.ParseWebSocketURL(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			p := &Plan{Checks: MustSelect(Catalog(), "signaling"), TLS: tt.tls, SignalingURLs: []*url.URL{u}, Settings: config.Settings{Proxy: tt.via}}
			rs := Run(context.Background(), p, nil)
			if len(rs) != 1 {
				t.Fatalf("%d results, want 1", len(rs))
			}
			r := rs[0]
			if r.Status != tt.status {
				t.Errorf("status = %s, want %s (%s)", r.Status, tt.status, r.Error)
			}
			if got := evidenceOf(r, "proxy"); !strings.HasPrefix(got, tt.proxy) {
				t.Errorf("proxy evidence = %q, want %q…", got, tt.proxy)
			}
			if !strings.Contains(r.Advice, tt.advice) {
				t.Errorf("advice = %q, want %q", r.Advice, tt.advice)
			}
		})
	}
}

// TestSignalingDiagnosis judges what real sockets on loopback did, byte
// for byte, and holds the words to the WebSocket family: no STUN advice,
// whatever the server does.
func TestSignalingDiagnosis(t *testing.T) {
	accept := func(c net.Conn, key string) {
		sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", base64.StdEncoding.EncodeToString(sum[:]))
	}
	tests := []struct {
		name   string
		answer func(c net.Conn, upgrade bool, key string)
		words  []string
	}{
		{"Upgrade closed, GET answered", func(c net.Conn, upgrade bool, _ string) {
			if !upgrade {
				fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
			}
		}, []string{"answers plain HTTP 200 OK", "closed the Upgrade", "Cannot tell from here", "does not speak WebSocket here", "requires a subprotocol"}},
		{"Upgrade and GET closed", func(net.Conn, bool, string) {}, []string{"Cannot tell from here", "refuses this client at the connection", "To tell them apart"}},
		{"403 with a reason", func(c net.Conn, _ bool, _ string) {
			fmt.Fprint(c, "HTTP/1.1 403 Forbidden\r\nX-WebSocket-Reject-Reason: origin not allowed\r\nContent-Length: 0\r\n\r\n")
		}, []string{"refuses this client", `X-WebSocket-Reject-Reason: "origin not allowed"`, "origin"}},
		{"401 with WWW-Authenticate", func(c net.Conn, _ bool, _ string) {
			fmt.Fprint(c, "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"signal\"\r\nContent-Length: 0\r\n\r\n")
		}, []string{"wants credentials", `WWW-Authenticate: "Bearer realm=\"signal\""`}},
		{"requires a named subprotocol", func(c net.Conn, _ bool, _ string) {
			fmt.Fprint(c, "HTTP/1.1 400 Bad Request\r\nSec-WebSocket-Protocol: mqtt\r\nContent-Length: 0\r\n\r\n")
		}, []string{"requires subprotocol mqtt", "mqtt in Sec-WebSocket-Protocol ({option:ws_protocol})"}},
		{"500, no subprotocol offered", func(c net.Conn, _ bool, _ string) {
			fmt.Fprint(c, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
		}, []string{"Cannot tell from here", "requires a subprotocol", "{option:ws_protocol}"}},
		{"HTTP after the 101", func(c net.Conn, _ bool, key string) {
			accept(c, key)
			fmt.Fprint(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 28\r\n\r\nUnsupported protocol version")
		}, []string{"HTTP answer instead of frames", "RFC 6455 §5.2", "protocol version"}},
		{"policy close", func(c net.Conn, _ bool, key string) {
			accept(c, key)
			fmt.Fprint(c, "\x88\x14\x03\xf0origin not allowed")
		}, []string{"closed it at once", "code 1008", "policy violation"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			defer func() { _ = ln.Close(); <-done }()
			go func() {
				defer close(done)
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					_ = c.SetDeadline(time.Now().Add(5 * time.Second))
					if req, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
						tt.answer(c, req.Header.Get("Upgrade") != "", req.Header.Get("Sec-WebSocket-Key"))
					}
					_ = c.Close()
				}
			}()
			u, err := probes.ParseWebSocketURL("ws://" + ln.Addr().String() + "/signal")
			if err != nil {
				t.Fatal(err)
			}
			p := &Plan{Checks: MustSelect(Catalog(), "signaling"), SignalingURLs: []*url.URL{u}}
			r := Run(context.Background(), p, nil)[0]
			words := r.Error + " " + r.Advice
			if r.Status != Fail {
				t.Errorf("status %s, want fail", r.Status)
			}
			for _, w := range tt.words {
				if !strings.Contains(words, w) {
					t.Errorf("verdict lacks %q: %s", w, words)
				}
			}
			if strings.Contains(words, "STUN") {
				t.Errorf("verdict speaks of STUN: %s", words)
			}
		})
	}
}
