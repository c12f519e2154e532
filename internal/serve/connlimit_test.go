package serve

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestConnectionCaps: one address keeps at most its share of
// connections; at the total cap a newcomer takes the place of the oldest
// connection serving no request of the network holding the most, never
// one serving a request, and another network's clients always get in.
func TestConnectionCaps(t *testing.T) {
	p := newPart()
	s, err := New(Config{Addr: "127.0.0.1:0", Limits: Limits{MaxConns: 8}}, p)
	if err != nil {
		t.Fatal(err)
	}
	served := serveOn(t, s)
	t.Cleanup(func() {
		close(p.hold)
		_ = s.Shutdown(context.Background())
		<-served
	})
	addr := s.Addr().String()
	dial := func(ip, head string) net.Conn {
		t.Helper()
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprint(c, head)
		return c
	}
	// A header that never ends.
	unfinished := "GET /page HTTP/1.1\r\nHost: x\r\n"
	// kept reports whether the server holds c open: a read that times
	// out, not one that ends.
	kept := func(c net.Conn) bool {
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		ne, ok := err.(net.Error)
		return ok && ne.Timeout()
	}
	// A request being served: the first connection of 127.0.0.2, so the
	// oldest of its network.
	busy := dial("127.0.0.2", "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	<-p.entered
	var held []net.Conn
	for range 3 {
		held = append(held, dial("127.0.0.2", unfinished))
	}
	if c := dial("127.0.0.2", unfinished); kept(c) {
		t.Error("a fifth connection from one address (share 4) was kept")
	}
	for range 4 {
		held = append(held, dial("127.0.0.3", unfinished))
	}
	// The table is full of 127.0.0.0/24. Two newcomers from another
	// network take the places of its two oldest connections serving
	// nothing, not the busy one.
	a, b := dial("127.0.1.4", unfinished), dial("127.0.1.5", unfinished)
	if !kept(a) || !kept(b) {
		t.Error("a newcomer from another network was closed at the cap")
	}
	if kept(held[0]) || kept(held[1]) {
		t.Error("the oldest idle connections of the network holding the most were not taken")
	}
	for _, c := range held[2:] {
		if !kept(c) {
			t.Error("a younger connection was taken before the oldest")
		}
	}
	// 127.0.0.0/24 still holds the most (5 to 2): its next oldest goes.
	if c := dial("127.0.1.6", unfinished); !kept(c) || kept(held[2]) {
		t.Error("the third newcomer did not take the third oldest")
	}
	p.hold <- struct{}{}
	resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil {
		t.Fatalf("the request being served lost its connection: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("the request being served: %d", resp.StatusCode)
	}
	// The request for /metrics is a newcomer at the cap too: a fourth.
	_, body, _ := get(t, http.DefaultClient, "http://"+addr+"/metrics")
	for _, want := range []string{"rtcprobe_http_connections_taken_total 4", "rtcprobe_http_connections_refused_total 1"} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
