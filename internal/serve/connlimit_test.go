package serve

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestConnectionCaps: one address keeps at most its share of connections
// and all addresses together the total; a connection over either is
// closed at once, and a place freed is taken again.
func TestConnectionCaps(t *testing.T) {
	s, err := New(Config{Addr: "127.0.0.1:0", Limits: Limits{MaxConns: 8}}, newPart())
	if err != nil {
		t.Fatal(err)
	}
	served := serveOn(t, s)
	t.Cleanup(func() {
		_ = s.Shutdown(context.Background())
		<-served
	})
	addr := s.Addr().String()
	dial := func(ip string) net.Conn {
		t.Helper()
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		// A header that never ends.
		fmt.Fprintf(c, "GET /page HTTP/1.1\r\nHost: x\r\n")
		return c
	}
	// kept reports whether the server holds c open: a read that times
	// out, not one that ends.
	kept := func(c net.Conn) bool {
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		ne, ok := err.(net.Error)
		return ok && ne.Timeout()
	}
	var first []net.Conn
	for range 4 {
		first = append(first, dial("127.0.0.2"))
	}
	if c := dial("127.0.0.2"); kept(c) {
		t.Error("a fifth connection from one address (share 4) was kept")
	}
	for range 4 {
		dial("127.0.0.3")
	}
	if c := dial("127.0.0.4"); kept(c) {
		t.Error("a ninth connection (total 8) was kept")
	}
	for _, c := range first {
		if !kept(c) {
			t.Error("a connection within the caps was closed")
		}
	}
	first[0].Close()
	var last error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.4")}}
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
		resp, err := c.Get("http://" + addr + "/-/healthy")
		if err != nil {
			last = err
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && strings.Contains(string(body), "healthy") {
			return
		}
		last = fmt.Errorf("%d %q", resp.StatusCode, body)
	}
	t.Errorf("a place freed was not taken again: %v", last)
}
