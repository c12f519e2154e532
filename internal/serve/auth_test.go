package serve

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// clientFrom is an HTTP client whose connections come from the loopback
// address ip, keeping up to conns of them alive.
func clientFrom(ip string, conns int, timeout time.Duration) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: conns}}
}

// TestWrongPasswordFloodStarvesNoOne: 300 requests at a time with wrong
// passwords (known and unknown users), from six addresses, each sent
// again as soon as it is answered, to the routes basic auth guards, the
// attack that once made them all 429 (every place in flight held by a
// request queued for the one bcrypt at a time). A client with the right
// password, from another address, gets in on its first request, and the
// public page and health are served.
func TestWrongPasswordFloodStarvesNoOne(t *testing.T) {
	// The lowest cost keeps the race detector's bcrypt near 25 ms on a
	// busy machine; each guess still costs the server a comparison, and
	// the legitimate client's first one waits behind the guessers'.
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret-a"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	web := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(web, fmt.Appendf(nil, "basic_auth_users:\n  alice: %s\n", hash), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Addr: "127.0.0.1:0", WebConfigFile: web}, newPart())
	if err != nil {
		t.Fatal(err)
	}
	served := serveOn(t, s)
	t.Cleanup(func() {
		_ = s.Shutdown(context.Background())
		<-served
	})
	base := "http://" + s.Addr().String()

	stop := make(chan struct{})
	var sent, unexpected atomic.Int64
	var wg sync.WaitGroup
	for a := range 6 {
		c := clientFrom(fmt.Sprintf("127.0.0.%d", 2+a), 50, 30*time.Second)
		for i := range 50 {
			path := []string{"/op", "/admin", "/metrics"}[i%3]
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					req, _ := http.NewRequest(http.MethodGet, base+path, nil)
					req.SetBasicAuth([]string{"alice", "mallory"}[i%2], fmt.Sprintf("guess-%d", i))
					resp, err := c.Do(req)
					if err != nil {
						time.Sleep(10 * time.Millisecond)
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					sent.Add(1)
					if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusTooManyRequests {
						unexpected.Add(1)
					}
				}
			})
		}
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()
	// The flood is on when the guesses are being answered.
	for deadline := time.Now().Add(30 * time.Second); sent.Load() < 300; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d guesses answered in 30 s", sent.Load())
		}
	}

	legit := clientFrom("127.0.0.9", 1, 30*time.Second)
	for i, path := range []string{"/op", "/metrics", "/admin"} {
		start := time.Now()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.SetBasicAuth("alice", "s3cret-a")
		resp, err := legit.Do(req)
		if err != nil {
			t.Fatalf("the right password, %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("the right password during the flood, %s (request %d): %d %q after %s", path, i+1, resp.StatusCode, body, time.Since(start))
		}
		t.Logf("the right password, %s: %d after %s", path, resp.StatusCode, time.Since(start))
	}
	public := clientFrom("127.0.0.10", 1, 30*time.Second)
	for _, path := range []string{"/page", "/-/healthy"} {
		resp, err := public.Get(base + path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s during the flood: %d %q", path, resp.StatusCode, body)
		}
	}
	if n := unexpected.Load(); n > 0 {
		t.Errorf("%d wrong guesses answered other than 401 or 429", n)
	}
	t.Logf("%d guesses answered during the test", sent.Load())
}
