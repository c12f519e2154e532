package precall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
)

// doFrom is f.do from the loopback address ip.
func (f *fixture) doFrom(t *testing.T, ip, method, path string, body io.Reader, headers ...string) response {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	req, err := http.NewRequest(method, f.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: string(b)}
}

// refusals reads rtcprobe_precall_refused_total by reason from /metrics.
func (f *fixture) refusals(t *testing.T) map[string]int {
	t.Helper()
	r := f.doFrom(t, "127.0.9.1", "GET", "metrics", nil)
	out := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^rtcprobe_precall_refused_total\{reason="(\w+)"\} (\d+)$`).FindAllStringSubmatch(r.body, -1) {
		out[m[1]], _ = strconv.Atoi(m[2])
	}
	return out
}

// TestSessionShares: ten addresses of one /24 asking ten sessions each
// (which once took all 100 places, and every visitor got 503 for the
// sessions' three minutes) get twelve between them: an address holds 3
// sessions in progress, a network 12, of the default cap of 100. A
// visitor from another network still gets one; a session that ends gives
// its place back; /metrics counts the refusals by reason.
func TestSessionShares(t *testing.T) {
	f := startFixture(t, fixtureConfig{opt: Options{SessionsPerMinute: 1000}})
	created := map[string][]sessionReply{}
	codes := map[int]int{}
	for a := 1; a <= 10; a++ {
		ip := fmt.Sprintf("127.0.0.%d", a)
		for range 10 {
			r := f.doFrom(t, ip, "POST", "api/precall/session", nil)
			codes[r.code]++
			switch r.code {
			case http.StatusCreated:
				var s sessionReply
				if err := json.Unmarshal([]byte(r.body), &s); err != nil {
					t.Fatal(err)
				}
				created[ip] = append(created[ip], s)
				if s.Tasks == nil {
					t.Fatalf("a session without tasks: %s", r.body)
				}
			case http.StatusTooManyRequests:
				if r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "its share") {
					t.Errorf("refused %d %q without Retry-After or naming the share", r.code, r.body)
				}
			default:
				t.Fatalf("session from %s: %d %s", ip, r.code, r.body)
			}
		}
	}
	n := 0
	for ip, ss := range created {
		if len(ss) > 3 {
			t.Errorf("%s holds %d sessions, more than its share of 3", ip, len(ss))
		}
		n += len(ss)
	}
	t.Logf("100 sessions asked from 10 addresses of 127.0.0.0/24: answers %v", codes)
	if n != 12 {
		t.Errorf("the /24 holds %d sessions, want its share of 12", n)
	}
	for _, ip := range []string{"127.0.1.5", "127.0.2.9"} {
		if r := f.doFrom(t, ip, "POST", "api/precall/session", nil); r.code != http.StatusCreated {
			t.Errorf("a visitor from %s: %d %s, want a session", ip, r.code, r.body)
		}
	}
	// A session that ends (its result posted) gives its place back.
	first := created["127.0.0.1"][0]
	body := fmt.Sprintf(`[{"task":%d,"ok":true,"ms":5,"result":%s}]`, taskID(t, first, "browser.api"), apiResult)
	if r := f.doFrom(t, "127.0.0.1", "POST", "api/precall/result", post(body), tokenHeader(first)); r.code != http.StatusCreated {
		t.Fatalf("posting a result: %d %s", r.code, r.body)
	}
	if r := f.doFrom(t, "127.0.0.1", "POST", "api/precall/session", nil); r.code != http.StatusCreated {
		t.Errorf("after a session ended: %d %s, want its place back", r.code, r.body)
	}
	if r := f.doFrom(t, "127.0.0.1", "POST", "api/precall/session", nil); r.code != http.StatusTooManyRequests {
		t.Errorf("one more: %d %s, want 429", r.code, r.body)
	}
	got := f.refusals(t)
	if got["address"] == 0 || got["network"] == 0 || got["address"]+got["network"] != codes[http.StatusTooManyRequests]+1 {
		t.Errorf("refusals on /metrics %v, want the %d refused counted as address and network", got, codes[http.StatusTooManyRequests]+1)
	}
}

// TestSessionCap: precall.max_sessions caps the sessions in progress; its
// shares follow it (2 an address, 4 a network of a cap of 8), and past
// the cap a session is 503, counted as full.
func TestSessionCap(t *testing.T) {
	cfg, err := config.Parse("p.yml", []byte("version: 1\nprecall:\n  max_sessions: 8\n"), config.Env{Catalog: checks.Entries(checks.Catalog())})
	if err != nil {
		t.Fatal(err)
	}
	f := startFixture(t, fixtureConfig{config: cfg, opt: Options{SessionsPerMinute: 1000}})
	want := map[string]int{"127.0.1.1": 201, "127.0.1.2": 201, "127.0.1.3": 429, "127.0.2.1": 201, "127.0.2.2": 201, "127.0.3.1": 503}
	for _, ip := range []string{"127.0.1.1", "127.0.1.2", "127.0.1.3", "127.0.2.1", "127.0.2.2", "127.0.3.1"} {
		for i := range 3 {
			code := want[ip]
			if code == 201 && i == 2 {
				code = 429 // the address's share is 2
			}
			if r := f.doFrom(t, ip, "POST", "api/precall/session", nil); r.code != code {
				t.Errorf("session %d from %s: %d %s, want %d", i+1, ip, r.code, r.body, code)
			}
		}
	}
	if got := f.refusals(t); got["full"] != 3 || got["network"] != 3 || got["address"] != 4 {
		t.Errorf("refusals on /metrics %v, want full 3, network 3, address 4", got)
	}
}

// TestCrossOriginSessionRefused: a page of another site cannot start
// sessions through its visitors' browsers (each from its own address,
// around the shares): a POST whose Origin or Sec-Fetch-Site is not this
// page's own is 403 and counted; the page's own, and a client that is
// not a browser (neither header), get a session.
func TestCrossOriginSessionRefused(t *testing.T) {
	f := startFixture(t, fixtureConfig{opt: Options{SessionsPerMinute: 1000}})
	self := strings.TrimSuffix(f.url, "/")
	for i, h := range [][]string{
		{"Origin: http://attacker.example"},
		{"Origin: null"},
		{"Sec-Fetch-Site: cross-site"},
		{"Sec-Fetch-Site: same-site", "Origin: http://other.localhost"},
	} {
		if r := f.doFrom(t, fmt.Sprintf("127.0.%d.1", 10+i), "POST", "api/precall/session", nil, h...); r.code != http.StatusForbidden || !strings.Contains(r.body, "cross-origin") {
			t.Errorf("%q: %d %q, want 403 naming the cross-origin request", h, r.code, r.body)
		}
	}
	for i, h := range [][]string{
		{"Origin: " + self},
		{"Sec-Fetch-Site: same-origin", "Origin: " + self},
		nil,
	} {
		if r := f.doFrom(t, fmt.Sprintf("127.0.%d.1", 20+i), "POST", "api/precall/session", nil, h...); r.code != http.StatusCreated {
			t.Errorf("%q: %d %q, want a session", h, r.code, r.body)
		}
	}
	if got := f.refusals(t); got["origin"] != 4 {
		t.Errorf("refusals on /metrics %v, want origin 4", got)
	}
}

// TestIdleSessionsTaken: nine networks fill the cap of 100 with sessions
// they do not use (the oldest four from a ninth network, then eight
// networks at their share of 12). While every session is new, a visitor
// from a tenth network gets 503. Once they have been idle past
// idleAfter, a visitor from a tenth network gets a session: it takes the
// place of the longest idle session of a network holding the most (not
// the ninth network's, older but smaller), and a session mid-call (its
// offer answered just now) is passed over. The taken session's token is
// answered 410; the takings are counted. Sessions past their TTL are
// forgotten when a session is added, before housekeeping comes by.
func TestIdleSessionsTaken(t *testing.T) {
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	step := func(d time.Duration) { offset.Add(int64(d)) }
	f := startFixture(t, fixtureConfig{opt: Options{Now: now}})
	type held struct {
		ip string
		s  sessionReply
	}
	var all []held
	start := func(ip string) {
		r := f.doFrom(t, ip, "POST", "api/precall/session", nil)
		if r.code != http.StatusCreated {
			t.Fatalf("session from %s: %d %s", ip, r.code, r.body)
		}
		var s sessionReply
		if err := json.Unmarshal([]byte(r.body), &s); err != nil {
			t.Fatal(err)
		}
		all = append(all, held{ip, s})
		step(10 * time.Millisecond) // the order of their starts is their age
	}
	for _, ip := range []string{"127.0.19.1", "127.0.19.1", "127.0.19.1", "127.0.19.2"} {
		start(ip)
	}
	for n := 1; n <= 8; n++ {
		for a := 1; a <= 4; a++ {
			for range 3 {
				start(fmt.Sprintf("127.0.%d.%d", 10+n, a))
			}
		}
	}
	if n := f.pre.sessions.inProgress(); n != 100 {
		t.Fatalf("%d sessions in progress, want the cap of 100", n)
	}
	if r := f.doFrom(t, "127.0.29.1", "POST", "api/precall/session", nil); r.code != http.StatusServiceUnavailable {
		t.Fatalf("a visitor while every session is new: %d %s, want 503", r.code, r.body)
	}
	step(idleAfter + time.Second)
	// The oldest session of 127.0.11.0/24 (a network of 12) is mid-call.
	mid := all[4]
	task := -1
	for _, tk := range mid.s.Tasks {
		if tk.Check == "browser.interop" && tk.Target == "all candidates" {
			task = tk.ID
		}
	}
	if r := f.doFrom(t, mid.ip, "POST", fmt.Sprintf("api/precall/signal/%d", task), strings.NewReader(hostileOffer(t, nil)), tokenHeader(mid.s)); r.code != http.StatusOK {
		t.Fatalf("the offer: %d %s", r.code, r.body)
	}
	alive := func(h held) int {
		// A task that does not exist: 404 from a session, 410 from a
		// taken one.
		return f.doFrom(t, h.ip, "POST", "api/precall/signal/999", strings.NewReader("v=0\r\n"), tokenHeader(h.s)).code
	}
	if r := f.doFrom(t, "127.0.30.1", "POST", "api/precall/session", nil); r.code != http.StatusCreated {
		t.Fatalf("a visitor from a tenth network: %d %s, want a session", r.code, r.body)
	}
	r := f.doFrom(t, all[5].ip, "POST", "api/precall/signal/999", strings.NewReader("v=0\r\n"), tokenHeader(all[5].s))
	if r.code != http.StatusGone || !strings.Contains(r.body, "to make room") {
		t.Errorf("the longest idle session of the biggest network: %d %q, want 410 saying it was ended to make room", r.code, r.body)
	}
	for _, i := range []int{0, 4, 6, 16} {
		if code := alive(all[i]); code != http.StatusNotFound {
			t.Errorf("session %d from %s: %d, want it kept", i, all[i].ip, code)
		}
	}
	// 127.0.11.0/24 holds 11 now: the next is taken from 127.0.12.0/24.
	if r := f.doFrom(t, "127.0.31.1", "POST", "api/precall/session", nil); r.code != http.StatusCreated {
		t.Fatalf("a visitor from an eleventh network: %d %s, want a session", r.code, r.body)
	}
	if code := alive(all[16]); code != http.StatusGone {
		t.Errorf("the longest idle session of 127.0.12.0/24: %d, want 410", code)
	}
	for _, i := range []int{0, 4, 6, 17} {
		if code := alive(all[i]); code != http.StatusNotFound {
			t.Errorf("session %d from %s: %d, want it kept", i, all[i].ip, code)
		}
	}
	// The session mid-call posts its result.
	if r := f.doFrom(t, mid.ip, "POST", "api/precall/result", bytes.NewReader(goodPost(t, mid.s)), tokenHeader(mid.s)); r.code != http.StatusCreated {
		t.Errorf("the session mid-call posts its result: %d %s", r.code, r.body)
	}
	m := f.doFrom(t, "127.0.9.1", "GET", "metrics", nil).body
	if !strings.Contains(m, "rtcprobe_precall_sessions_taken_total 2\n") {
		t.Errorf("/metrics does not count 2 sessions taken:\n%s", grepLines(m, "rtcprobe_precall_sessions"))
	}
	// Past the TTL every session is forgotten as the next one is added.
	step(f.pre.opt.SessionTTL)
	if r := f.doFrom(t, "127.0.32.1", "POST", "api/precall/session", nil); r.code != http.StatusCreated {
		t.Fatalf("a visitor after the sessions expired: %d %s", r.code, r.body)
	}
	if n := f.pre.sessions.inProgress(); n != 1 {
		t.Errorf("%d sessions in progress after the rest expired, want 1", n)
	}
	m = f.doFrom(t, "127.0.9.1", "GET", "metrics", nil).body
	if !strings.Contains(m, "rtcprobe_precall_sessions_taken_total 2\n") {
		t.Errorf("expired sessions were taken instead of forgotten:\n%s", grepLines(m, "rtcprobe_precall_sessions"))
	}
}
