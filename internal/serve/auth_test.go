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

// serveAlice serves newPart with one user, alice (password s3cret-a),
// and returns its base URL. The lowest bcrypt cost keeps the race
// detector's comparison near 25 ms on a busy machine; each guess still
// costs the server one.
func serveAlice(t *testing.T) string {
	t.Helper()
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
	return base
}

// TestWrongPasswordFloodStarvesNoOne: 300 requests at a time with wrong
// passwords (known and unknown users), from six addresses, each sent
// again as soon as it is answered, to the routes basic auth guards, the
// attack that once made them all 429 (every place in flight held by a
// request queued for the one bcrypt at a time). A client with the right
// password, from another address, gets in on its first request, and the
// public page and health are served.
func TestWrongPasswordFloodStarvesNoOne(t *testing.T) {
	// The legitimate client's first comparison waits behind the guessers'.
	base := serveAlice(t)

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

	// From another network: the guessers' own (127.0.0.0/24) has spent its
	// budget of wrong passwords, and its first logins wait for it.
	legit := clientFrom("127.0.1.9", 1, 30*time.Second)
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
	public := clientFrom("127.0.1.10", 1, 30*time.Second)
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

// TestGuessersBuyTheirNetworksBudget: 200 addresses in eight networks
// send wrong passwords as fast as they are answered. Each network gets
// its budget of comparisons (10, then one every 6 s) and no more, so the
// right password from a ninth network is checked at once: with one
// waiter per address, 200 addresses once queued it behind 200
// comparisons (429 after 10 s), now it is answered 200.
func TestGuessersBuyTheirNetworksBudget(t *testing.T) {
	base := serveAlice(t)
	stop := make(chan struct{})
	var compared, refused atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for n := range 8 {
		for a := range 25 {
			c := clientFrom(fmt.Sprintf("127.0.%d.%d", 10+n, 1+a), 1, 30*time.Second)
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					req, _ := http.NewRequest(http.MethodGet, base+"/op", nil)
					req.SetBasicAuth("alice", "guess")
					resp, err := c.Do(req)
					if err != nil {
						time.Sleep(10 * time.Millisecond)
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					switch resp.StatusCode {
					case http.StatusUnauthorized:
						compared.Add(1)
					case http.StatusTooManyRequests:
						refused.Add(1)
					}
				}
			})
		}
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()
	for deadline := time.Now().Add(30 * time.Second); refused.Load() < 1000; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the guessers were refused %d times in 30 s", refused.Load())
		}
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/op", nil)
	req.SetBasicAuth("alice", "s3cret-a")
	asked := time.Now()
	resp, err := clientFrom("127.0.30.1", 1, 30*time.Second).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the right password from another network: %d after %s", resp.StatusCode, time.Since(asked))
	}
	t.Logf("the right password from another network: %d after %s", resp.StatusCode, time.Since(asked))
	// Each network's budget: its burst, one more every 6 s, and one
	// check in flight per address when the budget ran out.
	budget := int64(8 * (10 + int(time.Since(start)/(6*time.Second)) + 1 + 25))
	if got := compared.Load(); got > budget {
		t.Errorf("%d wrong passwords compared in %s from eight networks, their budget is %d", got, time.Since(start).Round(time.Millisecond), budget)
	}
	t.Logf("%d compared, %d refused without a comparison, in %s", compared.Load(), refused.Load(), time.Since(start).Round(time.Millisecond))
}
