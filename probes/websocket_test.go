package probes_test

import (
	"context"
	"crypto/tls"
	"errors"
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

	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

// wsServer is a real WebSocket server (golang.org/x/net/websocket): it
// echoes, which makes it read and so answer pings, unless silent, when it
// holds the connection without reading. With cert it serves wss://.
func wsServer(t *testing.T, cert *netlab.Cert, silent bool) string {
	t.Helper()
	stop := make(chan struct{})
	h := websocket.Server{Handler: func(ws *websocket.Conn) {
		if silent {
			<-stop
			return
		}
		_, _ = io.Copy(ws, ws)
	}}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // rejected certificates are expected
	scheme := "ws://"
	if cert != nil {
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
		srv.StartTLS()
		scheme = "wss://"
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) }) // runs first: frees a silent handler
	return scheme + srv.Listener.Addr().String() + "/signal?token=secret-token"
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := probes.ParseWebSocketURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestWebSocket(t *testing.T) {
	testenv.CheckGoroutines(t)
	cert, err := netlab.NewCert(time.Now().Add(20*24*time.Hour), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	other, err := netlab.NewCert(time.Now().Add(20*24*time.Hour), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	trusted := &tls.Config{RootCAs: cert.Pool}
	ws, wss, silent := wsServer(t, nil, false), wsServer(t, cert, false), wsServer(t, nil, true)
	wssOther := wsServer(t, other, false)
	plain := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(plain.Close)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "ws://" + closed.Addr().String() + "/"
	_ = closed.Close()
	proxy := netlab.StartTinyproxy(t)
	strict := netlab.StartTinyproxy(t, 443) // refuses CONNECT elsewhere

	tests := []struct {
		name     string
		url      string
		cfg      probes.WebSocketConfig
		metrics  []string
		evidence map[string]string // name → substring
		err      func(error) bool
		errText  string
	}{
		{name: "ws direct", url: ws,
			metrics:  []string{"connect_ms", "upgrade_ms", "ping_rtt_ms"},
			evidence: map[string]string{"proxy": "none (direct)"}},
		{name: "ws by name", url: strings.Replace(ws, "127.0.0.1", "localhost", 1),
			metrics: []string{"dns_ms", "connect_ms", "upgrade_ms", "ping_rtt_ms"}},
		{name: "wss direct", url: wss, cfg: probes.WebSocketConfig{TLS: trusted},
			metrics:  []string{"connect_ms", "tls_ms", "upgrade_ms", "ping_rtt_ms", "cert_days_left"},
			evidence: map[string]string{"tls": "chain verified", "certificate": "issued by rtcprobe test CA"}},
		{name: "wss through tinyproxy", url: wss, cfg: probes.WebSocketConfig{TLS: trusted, Proxy: proxy},
			metrics:  []string{"connect_ms", "tls_ms", "upgrade_ms", "ping_rtt_ms"},
			evidence: map[string]string{"proxy": "via " + proxy.String() + " (from the proxy setting)"}},
		{name: "proxy refuses CONNECT", url: wss, cfg: probes.WebSocketConfig{TLS: trusted, Proxy: strict},
			err: func(err error) bool {
				var pe *probes.ProxyError
				return errors.As(err, &pe) && strings.HasPrefix(pe.Status, "403")
			},
			errText: "refused CONNECT"},
		{name: "server without pong", url: silent,
			metrics:  []string{"upgrade_ms"},
			evidence: map[string]string{"ping": "no pong"}},
		{name: "plain HTTP, no upgrade", url: "ws" + strings.TrimPrefix(plain.URL, "http") + "/x",
			err: func(err error) bool { var he *probes.HTTPStatusError; return errors.As(err, &he) && he.Code == 404 }},
		{name: "untrusted certificate", url: wssOther, cfg: probes.WebSocketConfig{TLS: trusted},
			err:     func(err error) bool { var te *probes.TLSError; return errors.As(err, &te) },
			errText: "certificate"},
		{name: "nothing listening", url: closedURL,
			err: func(err error) bool { var re *probes.RefusedError; return errors.As(err, &re) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			m := probes.WebSocket(ctx, mustURL(t, tt.url), tt.cfg)
			if tt.err != nil {
				if m.Err == nil || !tt.err(m.Err) || !strings.Contains(m.Err.Error(), tt.errText) {
					t.Fatalf("err = %v (%T), want another", m.Err, m.Err)
				}
				return
			}
			if m.Err != nil {
				t.Fatalf("err = %v", m.Err)
			}
			for _, name := range tt.metrics {
				if _, ok := m.Metrics[name]; !ok {
					t.Errorf("metric %s missing: %v", name, m.Metrics)
				}
			}
			for name, want := range tt.evidence {
				if got := evidence(m, name); !strings.Contains(got, want) {
					t.Errorf("evidence %s = %q, want %q", name, got, want)
				}
			}
			if d, ok := m.Metrics["cert_days_left"]; ok && (d < 19 || d > 20) {
				t.Errorf("cert_days_left = %v, want 19-20", d)
			}
			for _, e := range m.Evidence {
				if strings.Contains(e.Value, "secret-token") {
					t.Errorf("evidence %s leaks the URL's token: %q", e.Name, e.Value)
				}
			}
		})
	}
}

func TestParseWebSocketURL(t *testing.T) {
	for _, bad := range []string{"http://example.test/", "wss://", "ws://:80/", "wss://h:70000/", "ws://u:p@h/", "ws://h:abc/"} {
		if _, err := probes.ParseWebSocketURL(bad); err == nil {
			t.Errorf("ParseWebSocketURL(%q) accepted", bad)
		}
	}
	u, err := probes.ParseWebSocketURL("wss://signal.example.test/ws?token=abc")
	if err != nil {
		t.Fatal(err)
	}
	if name := probes.WebSocketName(u); strings.Contains(name, "abc") {
		t.Errorf("WebSocketName = %q leaks the query", name)
	}
}
