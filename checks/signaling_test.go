package checks

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/rtcprobe/rtcprobe/internal/netlab"
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
			p := &Plan{Checks: MustSelect(Catalog(), "signaling"), TLS: tt.tls, SignalingURLs: []*url.URL{u}, Settings: Settings{Proxy: tt.via}}
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
