package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestStalledBodiesStarveNoOne: 260 posts from one address that send one
// byte of body and stall, the attack that once took every place in
// flight. Another address still gets the public page, Prometheus' route
// has places of its own, the stalled posts end at the body deadline, and
// the attacker's address gets in again afterwards.
func TestStalledBodiesStarveNoOne(t *testing.T) {
	s, err := New(Config{Limits: Limits{BodyTimeout: time.Second}}, newPart())
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	addr := strings.TrimPrefix(hs.URL, "http://")

	var stalled []net.Conn
	t.Cleanup(func() {
		for _, c := range stalled {
			_ = c.Close()
		}
	})
	for range 260 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		stalled = append(stalled, c)
		fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nx")
	}
	time.Sleep(200 * time.Millisecond) // every post is in its handler now

	from := func(local string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 2 * time.Second}
		return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	}
	if code, body, _ := get(t, from("127.0.0.2"), hs.URL+"/page"); code != http.StatusOK {
		t.Errorf("another address, the public page: %d %q", code, body)
	}
	if code, body, _ := get(t, from("127.0.0.1"), hs.URL+"/op"); code != http.StatusOK {
		t.Errorf("Prometheus' route beside the stalled posts: %d %q", code, body)
	}
	if code, body, _ := get(t, from("127.0.0.1"), hs.URL+"/page"); code != http.StatusTooManyRequests || !strings.Contains(body, "its share") {
		t.Errorf("the stalling address over its share: %d %q", code, body)
	}

	// The body deadline ends every stalled post.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range stalled[:20] {
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.ReadAll(c); err != nil && ctx.Err() == nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("a stalled post still open 3 s after its 1 s body deadline")
			}
		}
	}
	if code, body, _ := get(t, from("127.0.0.1"), hs.URL+"/page"); code != http.StatusOK {
		t.Errorf("the address after its posts ended: %d %q", code, body)
	}
}

// TestSlotsNetworkShare: the addresses of one network (an IPv4 /24, an
// IPv6 /48) hold a quarter of a class's places between them, whatever
// their number: 16 /64s of one /48 once took all 256 public places.
func TestSlotsNetworkShare(t *testing.T) {
	for _, tc := range []struct {
		name, attacker, other string
	}{
		{"IPv4 /24", "192.0.2.%d", "198.51.100.7"},
		{"IPv6 /48", "[2001:db8:2:%x::1]", "[2001:db8:3::1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSlots(256)
			held := 0
			for i := range 64 {
				for range 16 {
					if _, err := s.take(fmt.Sprintf(tc.attacker, i+1) + ":4000"); err == nil {
						held++
					}
				}
			}
			if held != 64 {
				t.Errorf("one network's addresses hold %d of 256 places, want its share of 64", held)
			}
			if _, err := s.take(tc.other + ":4000"); err != nil {
				t.Errorf("another network refused: %v", err)
			}
			if _, err := s.take(fmt.Sprintf(tc.attacker, 99) + ":4000"); err == nil || !strings.Contains(err.Error(), "network has 64 requests in flight") {
				t.Errorf("a new address of the full network: %v", err)
			}
		})
	}
}
