package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
)

// part is a component for these tests: a route per class, a handler that
// can be held until released, and a record of the configs it took.
type part struct {
	mu      sync.Mutex
	configs []*config.Config
	refuse  func(*config.Config) error
	root    bool
	hold    chan struct{} // GET /slow waits for it to close
	entered chan struct{}
	closed  bool
}

func (p *part) Routes(r *Router) {
	ok := func(text string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, text) })
	}
	r.Public("GET /page", ok("public"))
	r.Public("GET /big", ok(strings.Repeat("x", 64<<10)))
	r.Operator("GET /op", ok("operator"))
	r.Admin("GET /admin", ok("admin"))
	if p.root {
		r.Public("/", ok("the pre-call page"))
	}
	r.Public("POST /upload", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		fmt.Fprint(w, "read")
	}))
	r.Public("GET /slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.entered <- struct{}{}
		select {
		case <-p.hold:
			fmt.Fprint(w, "finished")
		case <-r.Context().Done():
			http.Error(w, "deadline: "+r.Context().Err().Error(), http.StatusGatewayTimeout)
		}
	}))
}

func (p *part) Reload(cfg *config.Config) error {
	if p.refuse != nil {
		if err := p.refuse(cfg); err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.configs = append(p.configs, cfg)
	return nil
}

func (p *part) current() *config.Config {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.configs[len(p.configs)-1]
}

func (p *part) Close(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

func newPart() *part { return &part{hold: make(chan struct{}), entered: make(chan struct{}, 8)} }

func get(t *testing.T, c *http.Client, url string, header ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func startHTTP(t *testing.T, s *Server) string {
	t.Helper()
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return hs.URL
}

func TestRouteClassesWithoutWebConfig(t *testing.T) {
	s, err := New(Config{AdminToken: "tok-3b1f"}, newPart())
	if err != nil {
		t.Fatal(err)
	}
	base := startHTTP(t, s)
	c := http.DefaultClient
	for _, tc := range []struct {
		path   string
		header []string
		code   int
		body   string
	}{
		{"/page", nil, 200, "public"},
		{"/op", nil, 200, "operator"}, // no users in the web config: open
		{"/admin", nil, 401, "needs the web config's basic auth or the admin bearer token"},
		{"/admin", []string{"Authorization", "Bearer wrong"}, 401, "401 unauthorized"},
		{"/admin", []string{"Authorization", "Bearer tok-3b1f"}, 200, "admin"},
		{"/-/healthy", nil, 200, "healthy"},
		{"/", nil, 200, `href="status"`}, // the placeholder: no component serves /
		{"/nosuch", nil, 404, ""},
	} {
		code, body, _ := get(t, c, base+tc.path, tc.header...)
		if code != tc.code || !strings.Contains(body, tc.body) {
			t.Errorf("%s %v: %d %q, want %d %q", tc.path, tc.header, code, body, tc.code, tc.body)
		}
	}
}

func TestAdminIsNeverOpen(t *testing.T) {
	s, err := New(Config{}, newPart())
	if err != nil {
		t.Fatal(err)
	}
	code, body, hdr := get(t, http.DefaultClient, startHTTP(t, s)+"/admin")
	if code != 401 || !strings.Contains(body, "admin routes are closed: configure basic_auth_users in the web config or set RTCPROBE_ADMIN_TOKEN") ||
		hdr.Get("WWW-Authenticate") == "" {
		t.Errorf("%d %q %v", code, body, hdr)
	}
}

func TestComponentServesRoot(t *testing.T) {
	p := newPart()
	p.root = true
	s, err := New(Config{}, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, body, _ := get(t, http.DefaultClient, startHTTP(t, s)+"/"); body != "the pre-call page" {
		t.Errorf("/ = %q, want the component's page", body)
	}
}

func TestCollidingRoutesAreAnError(t *testing.T) {
	if _, err := New(Config{}, newPart(), newPart()); err == nil || !strings.Contains(err.Error(), "routes:") {
		t.Errorf("two components on the same routes: %v", err)
	}
}

// writeWebConfig writes a web config with TLS from a test CA and the
// users given (name, password pairs, stored as bcrypt hashes).
func writeWebConfig(t *testing.T, dir string, cert *netlab.Cert, users ...string) string {
	t.Helper()
	certFile, keyFile, _, err := cert.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	// Relative paths are relative to the web config file.
	fmt.Fprintf(&b, "tls_server_config:\n  cert_file: %s\n  key_file: %s\n", filepath.Base(certFile), filepath.Base(keyFile))
	b.WriteString("http_server_config:\n  headers:\n    X-Frame-Options: deny\n")
	if len(users) > 0 {
		b.WriteString("basic_auth_users:\n")
	}
	for i := 0; i+1 < len(users); i += 2 {
		hash, err := bcrypt.GenerateFromPassword([]byte(users[i+1]), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "  %s: %s\n", users[i], hash)
	}
	file := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestWebConfigTLSAndBasicAuth: Prometheus' web config file turns on TLS
// and basic auth; operator and admin routes need a user, health and
// public routes do not; a reload changes the users.
func TestWebConfigTLSAndBasicAuth(t *testing.T) {
	cert, err := netlab.NewCert(time.Now().Add(time.Hour), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	web := writeWebConfig(t, dir, cert, "alice", "s3cret-a")
	s, err := New(Config{Addr: "127.0.0.1:0", WebConfigFile: web}, newPart())
	if err != nil {
		t.Fatal(err)
	}
	served := serveOn(t, s)
	t.Cleanup(func() {
		_ = s.Shutdown(context.Background())
		if err := <-served; err != nil {
			t.Error(err)
		}
	})
	base := "https://" + s.Addr().String()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cert.Pool, MinVersion: tls.VersionTLS12}}}
	basic := func(user, pw string) []string {
		req, _ := http.NewRequest(http.MethodGet, "/", nil)
		req.SetBasicAuth(user, pw)
		return []string{"Authorization", req.Header.Get("Authorization")}
	}
	for _, tc := range []struct {
		path   string
		header []string
		code   int
	}{
		{"/page", nil, 200},
		{"/-/healthy", nil, 200},
		{"/-/ready", nil, 200},
		{"/op", nil, 401},
		{"/op", basic("alice", "wrong"), 401},
		{"/op", basic("mallory", "s3cret-a"), 401},
		{"/op", basic("alice", "s3cret-a"), 200},
		{"/metrics", nil, 401},
		{"/metrics", basic("alice", "s3cret-a"), 200},
		{"/admin", basic("alice", "s3cret-a"), 200},
		{"/admin", nil, 401},
	} {
		code, _, hdr := get(t, c, base+tc.path, tc.header...)
		if code != tc.code {
			t.Errorf("%s %v: %d, want %d", tc.path, tc.header, code, tc.code)
		}
		if tc.path != "/-/healthy" && tc.path != "/-/ready" && hdr.Get("X-Frame-Options") != "deny" {
			t.Errorf("%s: the web config's header is missing", tc.path)
		}
	}
	// The server offers h2 in ALPN: it must serve it, to Go's client and
	// to curl (which once got the connection dropped: curl exit 55).
	h2 := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: cert.Pool, MinVersion: tls.VersionTLS12}}}
	if resp, err := h2.Get(base + "/page"); err != nil {
		t.Errorf("HTTP/2 client: %v", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
			t.Errorf("HTTP/2 client: %d over %s, want 200 over HTTP/2", resp.StatusCode, resp.Proto)
		}
	}
	if curl, err := exec.LookPath("curl"); err == nil {
		ca := filepath.Join(dir, "ca.pem")
		if err := os.WriteFile(ca, cert.CAPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(curl, "--silent", "--show-error", "--http2", "--cacert", ca, "--write-out", "%{http_version} %{http_code}", "--output", "/dev/null", base+"/page").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "2 200" {
			t.Errorf("curl --http2: %v %q, want \"2 200\"", err, out)
		}
	}
	if resp, err := http.Get("http://" + s.Addr().String() + "/page"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP served on the TLS listener")
		}
	}
	// A new user by reload; the old password stops working.
	writeWebConfig(t, dir, cert, "bob", "s3cret-b")
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := get(t, c, base+"/op", basic("bob", "s3cret-b")...); code != 200 {
		t.Errorf("new user after reload: %d", code)
	}
	if code, _, _ := get(t, c, base+"/op", basic("alice", "s3cret-a")...); code != 401 {
		t.Errorf("removed user after reload: %d", code)
	}
	// A broken web config is refused and the users stay.
	if err := os.WriteFile(web, []byte("basic_auth_users:\n  eve: not-a-bcrypt-hash\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); err == nil {
		t.Error("a web config with a bad hash was accepted")
	}
	if code, _, _ := get(t, c, base+"/op", basic("bob", "s3cret-b")...); code != 200 {
		t.Errorf("after a refused reload: %d", code)
	}
}

// TestReloadIsAllOrNothing: when one component refuses the new config,
// those that took it get the old one back, and the metric says so.
func TestReloadIsAllOrNothing(t *testing.T) {
	old := &config.Config{File: "old.yml"}
	next := &config.Config{File: "new.yml"}
	cfg := old
	first, second := newPart(), newPart()
	second.refuse = func(c *config.Config) error {
		if c == next {
			return errors.New("new.yml:3: modules.x: refused")
		}
		return nil
	}
	var logs netlab.SyncBuffer
	s, err := New(Config{LoadConfig: func() (*config.Config, error) { return cfg, nil }, Logger: testLogger(&logs)}, first, onOtherRoutes{second})
	if err != nil {
		t.Fatal(err)
	}
	cfg = next
	if err := s.Reload(); err == nil {
		t.Fatal("reload accepted")
	}
	if first.current() != old || second.current() != old {
		t.Errorf("configs after a refused reload: %s, %s; want old.yml in both", first.current().File, second.current().File)
	}
	if !strings.Contains(logs.String(), "new.yml:3: modules.x: refused") || !strings.Contains(logs.String(), "old config stays in force") {
		t.Errorf("log:\n%s", logs.String())
	}
	_, metrics, _ := get(t, http.DefaultClient, startHTTP(t, s)+"/metrics")
	if !strings.Contains(metrics, "rtcprobe_config_last_reload_successful 0") {
		t.Errorf("metrics:\n%s", metrics)
	}
	// A config that does not load at all.
	s.cfg.LoadConfig = func() (*config.Config, error) {
		return nil, config.Errors{{File: "bad.yml", Line: 7, Field: "modules", Msg: "want a mapping"}}
	}
	if err := s.Reload(); err == nil || !strings.Contains(logs.String(), "bad.yml:7: modules: want a mapping") {
		t.Errorf("unloadable config: %v\n%s", err, logs.String())
	}
}

// onOtherRoutes mounts a part's routes under /b so two parts can share a
// server.
type onOtherRoutes struct{ *part }

func (o onOtherRoutes) Routes(r *Router) {
	sub := &Router{metrics: r.metrics}
	o.part.Routes(sub)
	for _, rt := range sub.routes {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		r.add(rt.Class, method+" /b"+path, rt.Handler)
	}
}

func TestLimits(t *testing.T) {
	p := newPart()
	s, err := New(Config{Limits: Limits{MaxInFlight: 1, MaxBodyBytes: 16, RequestTimeout: 300 * time.Millisecond}}, p)
	if err != nil {
		t.Fatal(err)
	}
	base := startHTTP(t, s)
	// The request deadline ends a handler that waits.
	if code, body, _ := get(t, http.DefaultClient, base+"/slow"); code != http.StatusGatewayTimeout || !strings.Contains(body, "deadline exceeded") {
		t.Errorf("request timeout: %d %q", code, body)
	}
	<-p.entered
	// One request in flight: the next is 429, health is not counted.
	done := make(chan int, 1)
	go func() { code, _, _ := get(t, http.DefaultClient, base+"/slow"); done <- code }()
	<-p.entered
	if code, body, _ := get(t, http.DefaultClient, base+"/page"); code != 429 || !strings.Contains(body, "1 are being served") {
		t.Errorf("over the in-flight limit: %d %q", code, body)
	}
	if code, _, _ := get(t, http.DefaultClient, base+"/-/healthy"); code != 200 {
		t.Errorf("health counted against the limit: %d", code)
	}
	close(p.hold)
	<-done
	resp, err := http.Post(base+"/upload", "text/plain", strings.NewReader(strings.Repeat("x", 17)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("body over the limit: %d", resp.StatusCode)
	}
}

// TestShutdownDrains: readiness turns 503, the request in flight
// finishes with its whole answer, then the components close.
func TestShutdownDrains(t *testing.T) {
	p := newPart()
	s, err := New(Config{Addr: "127.0.0.1:0"}, p)
	if err != nil {
		t.Fatal(err)
	}
	served := serveOn(t, s)
	base := "http://" + s.Addr().String()
	waitReady(t, base)
	answer := make(chan string, 1)
	go func() { _, body, _ := get(t, http.DefaultClient, base+"/slow"); answer <- body }()
	<-p.entered
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	// Readiness goes first, while the request is still held.
	for deadline := time.Now().Add(5 * time.Second); s.ready.Load(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("still ready while draining")
		}
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/-/ready", nil))
	if rec.Code != 503 {
		t.Errorf("/-/ready while draining: %d", rec.Code)
	}
	select {
	case err := <-shut:
		t.Fatalf("shutdown returned before the request finished: %v", err)
	default:
	}
	close(p.hold)
	if body := <-answer; body != "finished" {
		t.Errorf("the request in flight got %q", body)
	}
	if err := <-shut; err != nil {
		t.Error(err)
	}
	if err := <-served; err != nil {
		t.Error(err)
	}
	if !p.closed {
		t.Error("component not closed")
	}
}

// serveOn listens and serves in the background; the channel gets what
// Serve returns.
func serveOn(t *testing.T, s *Server) chan error {
	t.Helper()
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	return served
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if resp, err := http.Get(base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
	}
}

func testLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// TestReloadRefusesCrossOriginPosts: a page on another site that the
// operator's browser visits must not reload the config (the browser would
// add cached basic auth), and a refused reload names no file to the caller.
func TestReloadRefusesCrossOriginPosts(t *testing.T) {
	p := newPart()
	var logs netlab.SyncBuffer
	var fail atomic.Bool
	load := func() (*config.Config, error) {
		if fail.Load() {
			return nil, config.Errors{{File: "/etc/rtcprobe/private/rtcprobe.yml", Line: 7, Field: "modules", Msg: "want a mapping"}}
		}
		return &config.Config{File: "rtcprobe.yml"}, nil
	}
	s, err := New(Config{LoadConfig: load, Logger: testLogger(&logs)}, p)
	if err != nil {
		t.Fatal(err)
	}
	base := startHTTP(t, s)
	post := func(header ...string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, base+"/-/reload", nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	loads := func() int {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.configs)
	}

	for _, h := range [][]string{
		{"Origin", "http://attacker.example"},
		{"Origin", "null"},
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site", "Origin", "http://other.localhost"},
	} {
		before := loads()
		code, body := post(h...)
		if code != http.StatusForbidden || !strings.Contains(body, "cross-origin") {
			t.Errorf("%q: %d %q; want 403 naming the cross-origin request", h, code, body)
		}
		if loads() != before {
			t.Errorf("%q: the config was reloaded", h)
		}
	}
	// The server's own pages, and clients that are not browsers.
	for _, h := range [][]string{
		{"Origin", base},
		{"Sec-Fetch-Site", "same-origin", "Origin", base},
		nil,
	} {
		if code, body := post(h...); code != http.StatusOK {
			t.Errorf("%q: %d %q; want 200", h, code, body)
		}
	}

	fail.Store(true)
	code, body := post()
	if code != http.StatusInternalServerError || strings.Contains(body, "/etc/rtcprobe") || strings.Contains(body, "rtcprobe.yml") {
		t.Errorf("refused reload: %d %q; want 500 naming no file", code, body)
	}
	if !strings.Contains(logs.String(), "/etc/rtcprobe/private/rtcprobe.yml:7") {
		t.Errorf("the errors are not in the log:\n%s", logs.String())
	}
}
