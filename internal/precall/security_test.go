package precall

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// apiResult is a plausible result of the api page check.
const apiResult = `{"userAgent":"Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0","secureContext":true,
"features":{"peerconnection":true,"getusermedia":true,"datachannel":true,"enumeratedevices":true,"getdisplaymedia":true,
"getcapabilities":true,"encoded_transforms":true,"getstats":true}}`

func taskID(t testing.TB, s sessionReply, check string) int {
	t.Helper()
	for _, task := range s.Tasks {
		if task.Check == check {
			return task.ID
		}
	}
	t.Fatalf("no %s task in %v", check, s.Tasks)
	return -1
}

func post(results string) *bytes.Reader {
	return bytes.NewReader([]byte(`{"user_agent":"Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0","results":` + results + `}`))
}

// TestPageIsSafe: the page runs no inline script under a CSP that allows
// none, and neither it nor its assets carry a secret (the TURN password,
// the REST secret, the admin token).
func TestPageIsSafe(t *testing.T) {
	testenv.CheckGoroutines(t)
	f := startFixture(t, fixtureConfig{})
	page := f.do(t, "GET", "/", nil)
	if page.code != 200 {
		t.Fatalf("GET / = %d", page.code)
	}
	csp := page.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP %q: want scripts from this server only", csp)
	}
	if page.header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("Referrer-Policy = %q", page.header.Get("Referrer-Policy"))
	}
	inline := regexp.MustCompile(`(?is)<script(?:\s[^>]*)?>\s*[^<\s]|\son[a-z]+\s*=|javascript:`)
	if m := inline.FindString(page.body); m != "" || !strings.Contains(page.body, `<script src="precall/precall.js"`) {
		t.Errorf("the page has inline script %q", m)
	}
	user, pass := f.emb.Credentials()
	secret := f.emb.RESTServers(0)[1].REST.Secret
	sources := page.body
	for _, a := range []string{"support.js", "precall.js", "precall.css", "rtcprobe.js"} {
		r := f.do(t, "GET", "precall/"+a, nil)
		if r.code != 200 || r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("%s: %d %v", a, r.code, r.header)
		}
		sources += r.body
	}
	for name, s := range map[string]string{"TURN user": user, "TURN password": pass, "REST secret": secret, "admin token": adminToken} {
		if strings.Contains(sources, s) {
			t.Errorf("the page's source holds the %s", name)
		}
	}
	if r := f.do(t, "GET", "precall/../main_test.go", nil); r.code == 200 {
		t.Error("a file outside the assets was served")
	}
	// A session hands out minted credentials, never the secret or the
	// static credential.
	r := f.do(t, "POST", "api/precall/session", nil)
	if r.code != 201 || strings.Contains(r.body, secret) || strings.Contains(r.body, pass) || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("session: %d %v (secret or static password leaked, or cacheable)", r.code, r.header)
	}
	var s sessionReply
	if err := json.Unmarshal([]byte(r.body), &s); err != nil {
		t.Fatal(err)
	}
	ice := s.Tasks[taskID(t, s, "browser.ice")]
	found := false
	for _, task := range s.Tasks {
		if servers, ok := task.Arg["iceServers"].([]any); ok && task.Check == "browser.ice" {
			for _, srv := range servers {
				if u, _ := srv.(map[string]any)["username"].(string); u != "" {
					found = true
					if !regexp.MustCompile(`^\d{10}:[A-Z2-7]{16}$`).MatchString(u) {
						t.Errorf("TURN username %q: want minted REST credentials (an expiry and the session's tag)", u)
					}
				}
			}
		}
	}
	if !found {
		t.Errorf("no TURN credentials handed out (ice task %v)", ice)
	}
}

// TestAdminNeedsAuth: the admin pages and the results API answer 401
// without auth and open with the bearer token.
func TestAdminNeedsAuth(t *testing.T) {
	f := startFixture(t, fixtureConfig{})
	for _, path := range []string{"admin", "admin/export?format=csv", "api/v1/results", "api/v1/results/AAAAAAAAAAAAAAAAAAAAAAAAAA", "admin/results/AAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		if r := f.do(t, "GET", path, nil); r.code != http.StatusUnauthorized {
			t.Errorf("GET /%s without auth = %d, want 401", path, r.code)
		}
		if r := f.do(t, "GET", path, nil, "Authorization: Bearer wrong-token"); r.code != http.StatusUnauthorized {
			t.Errorf("GET /%s with a wrong token = %d, want 401", path, r.code)
		}
	}
	if r := f.do(t, "GET", "api/v1/results", nil, admin()); r.code != 200 || !strings.Contains(r.body, `"results": []`) {
		t.Errorf("GET /api/v1/results with the token = %d %s", r.code, r.body)
	}
	if r := f.do(t, "GET", "admin", nil, admin()); r.code != 200 || strings.Contains(r.header.Get("Content-Security-Policy"), "script-src") {
		t.Errorf("GET /admin with the token = %d, CSP %q", r.code, r.header.Get("Content-Security-Policy"))
	}
	if r := f.do(t, "GET", "api/v1/results?verdict=great", nil, admin()); r.code != 400 || !strings.Contains(r.body, "verdict") {
		t.Errorf("a bad filter = %d %s, want 400 naming verdict", r.code, r.body)
	}
}

// TestBadPosts: an oversized post is 413, a malformed one 400 naming the
// field, a wrong or missing token 403, a replayed token 409.
func TestBadPosts(t *testing.T) {
	testenv.CheckGoroutines(t)
	f := startFixture(t, fixtureConfig{})
	s := f.session(t)
	api := taskID(t, s, "browser.api")
	big := bytes.Repeat([]byte("x"), 10<<20)
	// The server answers 413 from the announced length and closes without
	// taking the body; a client still writing may see the reset instead
	// of the answer. Either way nothing was read, and the token stays good.
	if code, err := postRaw(f.url+"api/precall/result", big, tokenHeader(s)); err == nil && code != http.StatusRequestEntityTooLarge {
		t.Errorf("10 MiB post = %d, want 413", code)
	} else if err != nil && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Errorf("10 MiB post: %v, want 413 or the connection reset", err)
	}
	if r := f.do(t, "POST", "api/precall/signal/0", bytes.NewReader(big), tokenHeader(s)); r.code != http.StatusRequestEntityTooLarge && r.code != http.StatusNotFound {
		t.Errorf("10 MiB offer = %d, want 413", r.code)
	}
	for _, tc := range []struct {
		name, body, field string
	}{
		{"not JSON", `{"user_agent":`, "(body)"},
		{"missing field", `{"results":[]}`, "user_agent"},
		{"wrong type", `{"user_agent":"x","results":[{"task":"one","ok":true,"ms":1}]}`, "results[0].task"},
		{"unknown field", `{"user_agent":"x","results":[],"extra":1}`, "extra"},
		{"result of the wrong shape", fmt.Sprintf(`{"user_agent":"x","results":[{"task":%d,"ok":true,"ms":1,"result":{"userAgent":"x","secureContext":"yes","features":{}}}]}`, api), "results[0].result.secureContext"},
		{"no such task", `{"user_agent":"x","results":[{"task":63,"ok":true,"ms":1,"result":{}}]}`, "results[0].task"},
		{"ok without result", fmt.Sprintf(`{"user_agent":"x","results":[{"task":%d,"ok":true,"ms":1}]}`, api), "results[0].result"},
	} {
		r := f.do(t, "POST", "api/precall/result", strings.NewReader(tc.body), tokenHeader(s))
		if r.code != http.StatusBadRequest || !strings.Contains(r.body, tc.field+":") {
			t.Errorf("%s: %d %q, want 400 naming %s", tc.name, r.code, r.body, tc.field)
		}
	}
	good := fmt.Sprintf(`[{"task":%d,"ok":true,"ms":12,"result":%s}]`, api, apiResult)
	if r := f.do(t, "POST", "api/precall/result", post(good)); r.code != http.StatusForbidden {
		t.Errorf("no token = %d, want 403", r.code)
	}
	if r := f.do(t, "POST", "api/precall/result", post(good), sessionHeader+": "+strings.Repeat("A", 26)); r.code != http.StatusForbidden {
		t.Errorf("a made-up token = %d, want 403", r.code)
	}
	first := f.do(t, "POST", "api/precall/result", post(good), tokenHeader(s))
	if first.code != http.StatusCreated {
		t.Fatalf("a good post = %d %s", first.code, first.body)
	}
	if r := f.do(t, "POST", "api/precall/result", post(good), tokenHeader(s)); r.code != http.StatusConflict {
		t.Errorf("the token replayed = %d %s, want 409", r.code, r.body)
	}
	if r := f.do(t, "POST", "api/precall/signal/0", strings.NewReader("v=0\r\n"), tokenHeader(s)); r.code != http.StatusConflict && r.code != http.StatusNotFound {
		t.Errorf("signaling after the result = %d, want it refused", r.code)
	}
}

// TestSessionRateLimit: one address gets its sessions a minute, then 429.
func TestSessionRateLimit(t *testing.T) {
	f := startFixture(t, fixtureConfig{opt: Options{SessionsPerMinute: 3}})
	for i := range 3 {
		if r := f.do(t, "POST", "api/precall/session", nil); r.code != http.StatusCreated {
			t.Fatalf("session %d = %d", i, r.code)
		}
	}
	r := f.do(t, "POST", "api/precall/session", nil)
	if r.code != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("4th session in a minute = %d, want 429 with Retry-After", r.code)
	}
}

// TestSessionNetworkRate: a /24's many addresses share the network's
// session starts a minute (five addresses' worth): with 2 a minute per
// address, ten addresses of 127.0.6.0/24 get one each, an eleventh is
// refused with 429 naming the network, and a visitor from another /24
// still gets one. The clock stands still: nothing refills meanwhile.
func TestSessionNetworkRate(t *testing.T) {
	t0 := time.Now()
	f := startFixture(t, fixtureConfig{opt: Options{SessionsPerMinute: 2, Now: func() time.Time { return t0 }}})
	for i := 1; i <= 2*networkShare; i++ {
		if r := f.doFrom(t, fmt.Sprintf("127.0.6.%d", i), "POST", "api/precall/session", nil); r.code != http.StatusCreated {
			t.Fatalf("session from 127.0.6.%d = %d %s", i, r.code, r.body)
		}
	}
	r := f.doFrom(t, "127.0.6.200", "POST", "api/precall/session", nil)
	if r.code != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "at most 10 pre-call sessions a minute from one network") {
		t.Fatalf("a new address of the /24 past its rate = %d %q, want 429 naming the network's rate", r.code, r.body)
	}
	if r := f.doFrom(t, "127.0.7.1", "POST", "api/precall/session", nil); r.code != http.StatusCreated {
		t.Fatalf("a visitor from another /24 = %d %s", r.code, r.body)
	}
	if got := f.refusals(t); got["rate"] != 1 {
		t.Errorf("refusals on /metrics %v, want rate 1", got)
	}
}

// TestBucketTable: the limiter's and the quota's buckets are kept for at
// most maxTracked keys, the least recently used forgotten first: a key
// in use stays whatever churn of new keys passes by.
func TestBucketTable(t *testing.T) {
	now := time.Now()
	tb := newBucketTable(3)
	key := func(i int) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 32)
	}
	b := tb.get(key(0), 2, time.Minute, now)
	b.left = 0
	for i := 1; i < 1000; i++ {
		tb.get(key(i), 2, time.Minute, now)
		if i%2 == 0 {
			tb.get(key(0), 2, time.Minute, now) // the client in use
		}
		if tb.len() > 3 {
			t.Fatalf("%d keys kept, want at most 3", tb.len())
		}
	}
	if b := tb.get(key(0), 2, time.Minute, now); b.left != 0 {
		t.Errorf("the bucket in use was forgotten (left %v)", b.left)
	}
	if tb.peek(key(1)) != nil {
		t.Error("the least recently used key is still kept")
	}
	if b := tb.get(key(0), 2, time.Minute, now.Add(30*time.Second)); b.left != 1 {
		t.Errorf("half a minute refilled %v, want 1", b.left)
	}
}

// postRaw posts body and gives the status, or the transport's error.
func postRaw(url string, body []byte, headers ...string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}
