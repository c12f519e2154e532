package serve

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
)

// TestStalledStreamsLetGo: HTTP/2 clients that grant no flow-control
// window (SETTINGS_INITIAL_WINDOW_SIZE 0, no WINDOW_UPDATE ever) open
// streams for a 64 KiB answer from four addresses until every public
// place is taken. Their writes end at the write deadline, the places come
// back, and another client is served: without the deadline the handlers
// waited for the window for ever, holding the places past the request
// timeout.
func TestStalledStreamsLetGo(t *testing.T) {
	cert, err := netlab.NewCert(time.Now().Add(time.Hour), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	web := writeWebConfig(t, t.TempDir(), cert)
	s, err := New(Config{Addr: "127.0.0.1:0", WebConfigFile: web, Limits: Limits{MaxInFlight: 16, WriteStall: 500 * time.Millisecond}}, newPart())
	if err != nil {
		t.Fatal(err)
	}
	served := serveOn(t, s)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		<-served
	})
	addr := s.Addr().String()
	for i := range 4 {
		stallStreams(t, "127.0.0.2"+string(rune('0'+i)), addr, 4)
	}
	client := func(ip string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true,
			TLSClientConfig: &tls.Config{RootCAs: cert.Pool, MinVersion: tls.VersionTLS12}}}
	}
	// Every place is held: the attack works.
	held := false
	for deadline := time.Now().Add(5 * time.Second); !held && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		code, _, _ := get(t, client("127.0.0.30"), "https://"+addr+"/page")
		held = code == http.StatusTooManyRequests
	}
	if !held {
		t.Fatal("the stalled streams never held every place")
	}
	var code int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if code, _, _ = get(t, client("127.0.0.31"), "https://"+addr+"/page"); code == http.StatusOK {
			return
		}
	}
	t.Errorf("another client 10 s after the streams stalled (write deadline 0.5 s): %d", code)
}

// stallStreams opens an HTTP/2 connection from ip that grants no window
// and asks n times for /big; it reads (and drops) what the server sends
// so that only flow control holds the answers back.
func stallStreams(t *testing.T, ip, addr string, n int) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}}) //nolint:gosec // the test's own server
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if c.ConnectionState().NegotiatedProtocol != "h2" {
		t.Fatalf("ALPN: %q, want h2", c.ConnectionState().NegotiatedProtocol)
	}
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}); err != nil {
		t.Fatal(err)
	}
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for i := range n {
		hb.Reset()
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", addr}, {":path", "/big"}} {
			_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: uint32(2*i + 1), BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
	}
	go func() {
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		}
	}()
}
