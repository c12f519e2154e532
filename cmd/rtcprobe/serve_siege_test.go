package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/internal/store"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/report"
)

// siege counts what each attack got back, by HTTP status ("conn" for a
// connection the server closed or refused without an answer).
type siege struct {
	mu     sync.Mutex
	counts map[string]map[string]int
}

func (s *siege) note(attack, outcome string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counts[attack] == nil {
		s.counts[attack] = map[string]int{}
	}
	s.counts[attack][outcome]++
}

func (s *siege) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	attacks := make([]string, 0, len(s.counts))
	for a := range s.counts {
		attacks = append(attacks, a)
	}
	sort.Strings(attacks)
	for _, a := range attacks {
		fmt.Fprintf(&b, "  %s:", a)
		outcomes := make([]string, 0, len(s.counts[a]))
		for o := range s.counts[a] {
			outcomes = append(outcomes, o)
		}
		sort.Strings(outcomes)
		for _, o := range outcomes {
			fmt.Fprintf(&b, " %s×%d", o, s.counts[a][o])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// from is a dialer bound to a loopback source address: each attacker
// is as many clients as it has addresses.
func from(ip string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
}

// clientFrom is an HTTP client whose connections leave from ip.
func clientFrom(ip string, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: from(ip).DialContext, MaxIdleConnsPerHost: 64}}
}

// rawRequest writes the request line, a Host header naming addr, and the
// rest of head on a fresh connection from ip, then body, and returns the
// answer's status ("conn" when the server closed it without one).
func rawRequest(ctx context.Context, ip, addr, line, head string, body io.Reader, hold time.Duration) string {
	c, err := from(ip).DialContext(ctx, "tcp", addr)
	if err != nil {
		return "conn"
	}
	defer c.Close()
	head = line + " HTTP/1.1\r\nHost: " + addr + "\r\n" + head
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if _, err := io.WriteString(c, head); err != nil {
		return "conn"
	}
	if body != nil {
		if _, err := io.Copy(c, body); err != nil {
			return "conn"
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(hold))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "conn"
	}
	resp.Body.Close()
	return strconv.Itoa(resp.StatusCode)
}

// newSession opens a pre-call session from ip as the page does and
// returns its token.
func newSession(ctx context.Context, ip, origin string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, origin+"/api/precall/session", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Origin", origin)
	resp, err := clientFrom(ip, 10*time.Second).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var s struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&s); err != nil || resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("session: %d %v", resp.StatusCode, err)
	}
	return s.Token, nil
}

// siegeEnv, set to the server's address, makes the test binary the
// attacker of TestServeUnderSiege (see TestMain).
const siegeEnv = "RTCPROBE_SIEGE_TARGET"

// siegeAttack runs the five attacks on the server at addr until stdin
// closes, then writes what they got, as JSON, to stdout. It runs as a
// process of its own at the lowest CPU priority: an attacker's CPU is
// its own, not the server's host's, and the users' browser shares this
// machine.
func siegeAttack(addr string) int {
	// The attacks hold about 11,000 connections.
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Max < 12000 {
		fmt.Fprintf(os.Stderr, "the open-file hard limit is %d (%v): the attacks hold 12000 connections\n", lim.Max, err)
		return 1
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	origin := "http://" + addr
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	got := &siege{counts: map[string]map[string]int{}}
	attack := func(name string, ips []string, perIP int, once func(ip string) string) {
		for _, ip := range ips {
			for range perIP {
				wg.Go(func() {
					for ctx.Err() == nil {
						got.note(name, once(ip))
						// A refused attacker comes back at once, but not
						// in a loop that only measures this test's CPU.
						select {
						case <-ctx.Done():
						case <-time.After(50 * time.Millisecond):
						}
					}
				})
			}
		}
	}
	ips := func(net string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s.%d", net, i+1)
		}
		return out
	}

	// 11: connections that send one long header and never end it: 60 KB
	// (over the header cap) and 15 KB (under it, so they are held).
	pad := strings.Repeat("a", 60<<10)
	attack("unfinished headers", ips("127.0.3", 200), 50, func(ip string) string {
		n := len(pad)
		if ip[len(ip)-1]%2 == 0 {
			n = 15 << 10
		}
		return rawRequest(ctx, ip, addr, "GET /", "X-Pad: "+pad[:n], nil, 10*time.Minute)
	})
	// 1: result posts that send one byte of their body and stall, each
	// with a token of its own when the server still gives one.
	attack("stalled bodies", ips("127.0.4", 26), 10, func(ip string) string {
		token := rand.Text()
		if s, err := newSession(ctx, ip, origin); err == nil {
			token = s
		}
		return rawRequest(ctx, ip, addr, "POST /api/precall/result", fmt.Sprintf("Origin: %s\r\nContent-Type: application/json\r\nX-Rtcprobe-Session: %s\r\nContent-Length: %d\r\n\r\n{",
			origin, token, 1<<20), nil, 10*time.Minute)
	})
	// 4: 1 MiB result posts with tokens the server never gave.
	body := worstResult()
	attack("1 MiB posts", ips("127.0.5", 16), 16, func(ip string) string {
		return rawRequest(ctx, ip, addr, "POST /api/precall/result", fmt.Sprintf("Origin: %s\r\nContent-Type: application/json\r\nX-Rtcprobe-Session: %s\r\nContent-Length: %d\r\n\r\n",
			origin, rand.Text(), len(body)), strings.NewReader(body), time.Minute)
	})
	// 5: ten addresses of one network open sessions as fast as they can.
	attack("session flood", ips("127.0.1", 10), 10, func(ip string) string {
		return rawRequest(ctx, ip, addr, "POST /api/precall/session", "Origin: "+origin+"\r\nContent-Length: 0\r\n\r\n", nil, time.Minute)
	})
	// 9: 300 connections try wrong passwords on the operator's routes.
	attack("wrong passwords", ips("127.0.6", 30), 10, func(ip string) string {
		return rawRequest(ctx, ip, addr, "GET /metrics", "Authorization: Basic "+basic("prometheus", rand.Text())+"\r\n\r\n", nil, time.Minute)
	})
	_, _ = io.Copy(io.Discard, os.Stdin)
	stop()
	wg.Wait()
	if err := json.NewEncoder(os.Stdout).Encode(got.counts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startSiege starts the attacker process; stopping it returns what the
// attacks got.
func startSiege(t *testing.T, addr string) func() *siege {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("nice", "-n", "19", self)
	cmd.Env = append(os.Environ(), siegeEnv+"="+addr)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out, errs strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return func() *siege {
		t.Helper()
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("the attacker: %v\n%s", err, errs.String())
		}
		got := &siege{}
		if err := json.Unmarshal([]byte(out.String()), &got.counts); err != nil {
			t.Fatalf("the attacker's counts: %v %q", err, out.String())
		}
		return got
	}
}

// raiseFileLimit lets the test hold the attack's connections: its soft
// open-file limit goes up to n (the hard limit must allow it).
func raiseFileLimit(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Max < n {
		t.Fatalf("the open-file hard limit is %d; this test holds %d connections", lim.Max, n)
	}
	if lim.Cur >= n {
		return
	}
	old := lim
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("raising the open-file limit to %d: %v", n, err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
}

// basicAuthWebConfig writes a web config with one user (a bcrypt hash at
// the default cost, as an operator would make it).
func basicAuthWebConfig(t *testing.T, user, password string) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(file, fmt.Appendf(nil, "basic_auth_users:\n  %s: %q\n", user, hash), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// basic is a basic-auth credential as an Authorization header carries it.
func basic(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}

// worstResult is a result post of 1 MiB that is nearly all tiny values:
// the body whose parse costs the most.
func worstResult() string {
	head, tail := `{"user_agent":"x","results":[{"task":0,"ok":true,"ms":1,"result":{"a":[`, `0]}}]}`
	return head + strings.Repeat("0,", ((1<<20)-len(head)-len(tail))/2) + tail
}

// runPageIn opens the pre-call page in b as a user, waits for the
// verdict and returns the stored report's results by check and target.
func runPageIn(t *testing.T, b *browser.Browser, srv *precallServe, origin string) map[string]result.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tab, lines, closeTab, err := b.Visit(ctx, origin+"/?autostart=1", false)
	if err != nil {
		t.Fatal(err)
	}
	defer closeTab()
	state, err := chromedp.Run(tab, chromedp.Evaluate[string](`new Promise((resolve) => {
		const f = () => { const r = document.documentElement; if (r.dataset.precall === 'done' || r.dataset.precall === 'error') resolve(r.dataset.precall + ' ' + (r.dataset.reportId || '')); else setTimeout(f, 100); };
		f();
	})`, chromedp.EvalAwaitPromise))
	if err != nil || !strings.HasPrefix(state, "done ") {
		t.Fatalf("the page: %q %v (console %v)", state, err, lines())
	}
	id, verdict := srv.result(t, 30*time.Second)
	st, err := store.Open(ctx, srv.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	row, err := st.Get(ctx, id)
	if err != nil {
		t.Fatalf("the page's result %s: %v", id, err)
	}
	rep, err := report.ReadJSON(strings.NewReader(string(row.Report)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]result.Result{}
	for _, r := range rep.Results {
		out[r.CheckID+" "+r.Target] = r
		if r.Status != result.Pass {
			t.Logf("  %s %s: %s %s", r.CheckID, r.Target, r.Status, r.Error)
		}
	}
	t.Logf("the page's result %s: %s, %d checks", id, verdict, len(out))
	return out
}

// TestServeUnderSiege: `rtcprobe serve` with basic auth takes five attacks
// at once — stalled result bodies, 1 MiB posts with tokens it did not
// give, a session flood from one network, wrong passwords from 300
// connections, and thousands of connections that never finish their
// headers — while a real Chromium completes the pre-call check (no check
// fails that did not fail in a run before the attack) and a real
// Prometheus scrapes /probe; the server's peak RSS stays under 256 MiB.
func TestServeUnderSiege(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium and Prometheus under attack")
	}
	testenv.Heavy(t, "a browser")
	path, err := browser.Find("")
	if err != nil {
		testenv.Unavailable(t, "no browser: %v (%s)", err, browser.InstallHint)
	}
	password := rand.Text()
	srv := startPrecallServe(t, nil, "", "--web-config", basicAuthWebConfig(t, "prometheus", password))
	addr, origin := srv.addr, "http://"+srv.addr

	bctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b, err := browser.Launch(bctx, browser.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// The page's verdicts without an attack, to compare (this browser does
	// not trust the serve process's own certificate, so its TURN over TLS
	// checks fail both times, as they would for a user).
	quiet := runPageIn(t, b, srv, origin)

	stopSiege := startSiege(t, addr)
	// Let every attack reach its full strength before the users come.
	time.Sleep(10 * time.Second)

	// The attacks hold the server at its connection cap.
	_, metrics := srv.get(t, "/metrics", "Authorization", "Basic "+basic("prometheus", password))
	held := -1
	if m := regexp.MustCompile(`(?m)^rtcprobe_http_connections_open (\d+)$`).FindStringSubmatch(metrics); m != nil {
		held, _ = strconv.Atoi(m[1])
	}
	if held < 900 {
		t.Errorf("the attacks hold %d connections, want (nearly) the cap's 1024", held)
	}
	t.Logf("under attack:\n%s", strings.Join(regexp.MustCompile(`(?m)^rtcprobe_(http_connections|precall_refused)\S* .*$`).FindAllString(metrics, -1), "\n"))

	// The users: Prometheus scrapes /probe with the password; a person
	// opens the page in Chromium.
	prom := startPrometheusAuth(t, addr, "prometheus", password, []scrapeJob{{"stun_udp", []string{"stun:" + srv.embedded}}})
	under := runPageIn(t, b, srv, origin)
	for key, r := range under {
		want, ok := quiet[key]
		switch {
		case !ok:
			t.Errorf("%s: under attack only (%s)", key, r.Status)
		case r.Status == want.Status:
		case (r.Status == result.Fail || r.Status == result.Error) && want.Status != r.Status:
			t.Errorf("%s: %s under attack (%s), %s without (%s)", key, r.Status, r.Error, want.Status, want.Error)
		default:
			// The attack costs the machine CPU that the call's media
			// shares (the attacker runs here too): a warning on loss or
			// time is that, not a refusal.
			t.Logf("%s: %s under attack (%s), %s without", key, r.Status, r.Error, want.Status)
		}
	}
	if len(under) != len(quiet) {
		t.Errorf("the page ran %d checks under attack, %d without", len(under), len(quiet))
	}
	prom.waitSeries(t, `probe_success{job="stun_udp"}`, []string{"stun:" + srv.embedded}, "1")
	prom.waitSeries(t, `up{job="rtcprobe"}`, []string{addr}, "1")

	peak := procStatus(t, srv.cmd.Process.Pid, "VmHWM") << 10
	got := stopSiege()
	t.Logf("peak RSS %.1f MiB; what the attacks got:\n%s", float64(peak)/(1<<20), got)
	if peak >= 256<<20 {
		t.Errorf("peak RSS %.1f MiB under the attacks, want < 256 MiB", float64(peak)/(1<<20))
	}
}
