package exporter

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/serve"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// fixture is the exporter mounted in the real server, served over
// loopback HTTP, with an embedded STUN/TURN server to probe.
type fixture struct {
	t      *testing.T
	url    string
	emb    *iceserver.Server
	srv    *serve.Server
	logs   *netlab.SyncBuffer
	config string // the config file's path; "" for the default modules
	vars   map[string]string
}

const testPassword = "pw-exporter-Zq81-never-shown"

// newFixture starts the server; yml is a YAML config (written to a
// file that reloads read again), "" for the default modules. ${PORT},
// ${TLS_PORT}, ${USER} and ${PASSWORD} are the embedded server's.
func newFixture(t *testing.T, yml string, opt Options) *fixture {
	t.Helper()
	emb, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	user, password := emb.Credentials()
	f := &fixture{t: t, emb: emb, logs: &netlab.SyncBuffer{},
		vars: map[string]string{"PORT": strconv.Itoa(emb.Port()), "TLS_PORT": strconv.Itoa(emb.TLSPort()), "USER": user, "PASSWORD": password}}
	opt.Logger = slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := serve.Config{Logger: opt.Logger}
	if yml != "" {
		f.config = filepath.Join(t.TempDir(), "rtcprobe.yml")
		f.write(yml)
		cfg.LoadConfig = func() (*config.Config, error) {
			data, err := os.ReadFile(f.config)
			if err != nil {
				return nil, err
			}
			return config.Parse(f.config, data, config.Env{Catalog: checks.Entries(checks.Catalog()),
				LookupEnv: func(k string) (string, bool) { v, ok := f.vars[k]; return v, ok }})
		}
	} else {
		opt.Embedded = emb
	}
	f.srv, err = serve.New(cfg, New(opt))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(f.srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		_ = f.srv.Shutdown(context.Background())
		if t.Failed() {
			t.Logf("log:\n%s", f.logs.String())
		}
	})
	f.url = hs.URL
	return f
}

func (f *fixture) write(config string) {
	f.t.Helper()
	if err := os.WriteFile(f.config, []byte(config), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

// addr is the embedded server's STUN/TURN address.
func (f *fixture) addr() string { return "127.0.0.1:" + f.vars["PORT"] }

func (f *fixture) get(path string, header ...string) (int, string) {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.url+path, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func probe(module, target string, extra ...string) string {
	return "/probe?module=" + url.QueryEscape(module) + "&target=" + url.QueryEscape(target) + strings.Join(extra, "")
}

// promtoolCheckMetrics runs Prometheus' own linter on an exposition.
func promtoolCheckMetrics(t *testing.T, exposition string) {
	t.Helper()
	bin := testenv.LookPath(t, "promtool")
	cmd := exec.Command(bin, "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s\non:\n%s", err, out, exposition)
	}
}

// TestDefaultModulesProbeTheEmbeddedServer: the documented modules answer
// in Prometheus' format, every metric in base units, and promtool accepts
// the answer and /metrics.
func TestDefaultModulesProbeTheEmbeddedServer(t *testing.T) {
	f := newFixture(t, "", Options{})
	for _, tc := range []struct{ module, target string }{
		{"stun_udp", "stun:" + f.addr()},
		{"turn_udp", "turn:" + f.addr()},
		{"turn_tls", "turns:127.0.0.1:" + f.vars["TLS_PORT"]},
	} {
		code, body := f.get(probe(tc.module, tc.target))
		if code != 200 || !strings.Contains(body, "\nprobe_success 1\n") {
			t.Fatalf("%s: %d\n%s", tc.module, code, body)
		}
		for _, want := range []string{"# TYPE probe_duration_seconds gauge", "_rtt_median_seconds{check=", `status="pass"`, "probe_check_duration_seconds{"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: answer lacks %q:\n%s", tc.module, want, body)
			}
		}
		if strings.HasPrefix(tc.module, "turn") && strings.Contains(body, "probe_turn_relay_ipv6") {
			t.Errorf("%s: asked for an IPv6 relay despite turn_ipv6: false", tc.module)
		}
		if regexp.MustCompile(`(?m)^probe_\w+_(ms|pct|kbps|mbps)[{ ]`).MatchString(body) {
			t.Errorf("%s: a metric is not in base units:\n%s", tc.module, body)
		}
		promtoolCheckMetrics(t, body)
	}
	code, body := f.get("/metrics")
	if code != 200 || !strings.Contains(body, `rtcprobe_probes_total{module="turn_udp",result="success"} 1`) ||
		!strings.Contains(body, `rtcprobe_probe_duration_seconds_count{module="stun_udp"} 1`) || !strings.Contains(body, "go_goroutines") ||
		!strings.Contains(body, "rtcprobe_config_last_reload_successful 1") || !strings.Contains(body, "rtcprobe_modules 7") {
		t.Errorf("/metrics: %d\n%s", code, body)
	}
	promtoolCheckMetrics(t, body)
}

// TestBadInputIs400NamingIt: a request that cannot be probed is refused
// before anything is sent, and the answer names what was wrong.
func TestBadInputIs400NamingIt(t *testing.T) {
	f := newFixture(t, "", Options{})
	tests := []struct {
		path, want string
		header     []string
	}{
		{path: "/probe?target=stun:" + f.addr(), want: "missing module parameter (modules: firewall, ice_relay, stun_tcp, stun_udp, turn_tcp, turn_tls, turn_udp)"},
		{path: probe("nosuch", "stun:"+f.addr()), want: `unknown module "nosuch" (modules: firewall,`},
		{path: probe("<script>", "stun:"+f.addr()), want: `unknown module "<script>"`},
		{path: "/probe?module=stun_udp", want: "missing target parameter"},
		{path: probe("stun_udp", "stun:"), want: `invalid target parameter: invalid URI "stun:": missing host`},
		{path: probe("stun_udp", "http://example.org/"), want: `invalid target parameter: invalid URI "http://example.org/": unknown scheme "http"`},
		{path: probe("stun_udp", "turn:alice:hunter2@"+f.addr()), want: "credentials in the target are not allowed"},
		{path: probe("stun_udp", "wss://alice:hunter2@example.org/"), want: "credentials in the target are not allowed"},
		{path: probe("turn_udp", "stun:"+f.addr()), want: "module turn_udp cannot probe target stun:" + f.addr() + ": nothing to check: turn.udp needs a turn: or turns: server"},
		{path: probe("stun_udp", "stun:"+f.addr()), header: []string{scrapeTimeoutHeader, "soon"}, want: `invalid X-Prometheus-Scrape-Timeout-Seconds header "soon"`},
		{path: probe("stun_udp", "stun:"+f.addr()), header: []string{scrapeTimeoutHeader, "NaN"}, want: `invalid X-Prometheus-Scrape-Timeout-Seconds header "NaN"`},
		{path: probe("stun_udp", "stun:"+f.addr()), header: []string{scrapeTimeoutHeader, "+Inf"}, want: `invalid X-Prometheus-Scrape-Timeout-Seconds header "+Inf"`},
		{path: probe("stun_udp", "stun:"+f.addr()), header: []string{scrapeTimeoutHeader, "-Inf"}, want: `invalid X-Prometheus-Scrape-Timeout-Seconds header "-Inf"`},
		{path: probe("stun_udp", "stun:"+f.addr()), header: []string{scrapeTimeoutHeader, "-1"}, want: `invalid X-Prometheus-Scrape-Timeout-Seconds header "-1"`},
		{path: probe("stun_udp", "stun:"+f.addr()), header: []string{scrapeTimeoutHeader, "0"}, want: `invalid X-Prometheus-Scrape-Timeout-Seconds header "0"`},
		{path: probe("stun_udp", "stun:"+f.addr()), header: []string{scrapeTimeoutHeader, "1e-12"}, want: `invalid X-Prometheus-Scrape-Timeout-Seconds header "1e-12"`},
	}
	for _, tt := range tests {
		code, body := f.get(tt.path, tt.header...)
		if code != http.StatusBadRequest || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %q, want 400 and %q", tt.path, code, body, tt.want)
		}
		if strings.Contains(body, "hunter2") || strings.Contains(body, "<script>") && !strings.Contains(body, `"<script>"`) {
			t.Errorf("%s: answer echoes a secret: %q", tt.path, body)
		}
	}
	_, metrics := f.get("/metrics")
	if !strings.Contains(metrics, fmt.Sprintf(`rtcprobe_probes_refused_total{reason="bad_request"} %d`, len(tests))) {
		t.Errorf("refusals not counted:\n%s", metrics)
	}
	if strings.Contains(f.logs.String(), "hunter2") {
		t.Errorf("the log holds a password:\n%s", f.logs.String())
	}
}

// TestAllowListRefusalNamesTheRule: a target outside the module's
// allowed_targets is 403, naming the module, where it is defined and its
// rules; nothing is sent to the target.
func TestAllowListRefusalNamesTheRule(t *testing.T) {
	f := newFixture(t, `modules:
  stun_udp:
    checks: [stun.udp]
    allowed_targets: ["127.0.0.1:${PORT}", "*.example.org"]
`, Options{})
	if code, body := f.get(probe("stun_udp", "stun:"+f.addr())); code != 200 || !strings.Contains(body, "\nprobe_success 1\n") {
		t.Fatalf("allowed target: %d %s", code, body)
	}
	// A listener on the refused address proves nothing was sent.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	code, body := f.get(probe("stun_udp", "stun:"+pc.LocalAddr().String()))
	want := fmt.Sprintf("403 Forbidden: target stun:%s is not allowed by module stun_udp: no rule of its allowed_targets (%s:2) matches it: 127.0.0.1:%s, *.example.org",
		pc.LocalAddr(), f.config, f.vars["PORT"])
	if code != http.StatusForbidden || strings.TrimSpace(body) != want {
		t.Errorf("refused target: %d %q\nwant %q", code, body, want)
	}
	_ = pc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, _, err := pc.ReadFrom(make([]byte, 1500)); err == nil {
		t.Error("the refused target received a packet")
	}
}

// TestAllowListURIPatternMatchesParts: a URI rule's host glob matches
// the host alone, so a path that spells the glob's suffix does not let a
// loopback target in; a target the rule does name is probed.
func TestAllowListURIPatternMatchesParts(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	ws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		http.NotFound(w, r)
	}))
	defer ws.Close()
	port := ws.Listener.Addr().(*net.TCPAddr).Port
	f := newFixture(t, fmt.Sprintf(`modules:
  signaling:
    checks: [signaling.websocket]
    check_timeout: 2s
    allowed_targets: ["ws://*.example.org/*", "ws://127.0.0.*:%d/ok/*"]
`, port), Options{})
	for _, target := range []string{
		fmt.Sprintf("ws://127.0.0.1:%d/.example.org/", port),
		fmt.Sprintf("ws://127.0.0.1:%d/x.example.org", port),
		fmt.Sprintf("ws://127.0.0.1:%d/ok", port), // the rule wants /ok/…
	} {
		code, body := f.get(probe("signaling", target))
		want := fmt.Sprintf("403 Forbidden: target %s is not allowed by module signaling: no rule of its allowed_targets (%s:2) matches it: ws://*.example.org/*, ws://127.0.0.*:%d/ok/*",
			target, f.config, port)
		if code != http.StatusForbidden || strings.TrimSpace(body) != want {
			t.Errorf("%s: %d %q\nwant %q", target, code, body, want)
		}
	}
	mu.Lock()
	if len(paths) != 0 {
		t.Errorf("refused targets were connected to: %v", paths)
	}
	mu.Unlock()
	if code, body := f.get(probe("signaling", fmt.Sprintf("ws://127.0.0.1:%d/ok/ws", port))); code != http.StatusOK {
		t.Errorf("allowed target: %d %s", code, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) == 0 || paths[0] != "/ok/ws" {
		t.Errorf("the allowed target was not probed: %v", paths)
	}
}

// TestConcurrencyLimits: a module's max_concurrent and the exporter's
// global limit answer 429 at once instead of queueing.
func TestConcurrencyLimits(t *testing.T) {
	silent := netlab.SilentUDP(t)
	f := newFixture(t, fmt.Sprintf(`modules:
  slow:
    checks: [stun.udp]
    check_timeout: 3s
    max_concurrent: 1
    allowed_targets: [%q]
  other:
    checks: [stun.udp]
    check_timeout: 3s
    allowed_targets: [%q]
`, silent, silent), Options{MaxConcurrent: 2})
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { f.get(probe("slow", "stun:"+silent)) })
	f.waitInFlight("slow", 1)
	code, body := f.get(probe("slow", "stun:"+silent))
	if code != http.StatusTooManyRequests || !strings.Contains(body, "module slow has 1 probes in flight, its max_concurrent") {
		t.Errorf("module limit: %d %q", code, body)
	}
	wg.Go(func() { f.get(probe("other", "stun:"+silent)) })
	f.waitInFlight("other", 1)
	code, body = f.get(probe("other", "stun:"+silent))
	if code != http.StatusTooManyRequests || !strings.Contains(body, "2 probes are in flight, the exporter's limit") {
		t.Errorf("global limit: %d %q", code, body)
	}
}

// waitInFlight waits until the module has n probes in flight.
func (f *fixture) waitInFlight(module string, n int) {
	f.t.Helper()
	want := fmt.Sprintf("rtcprobe_probes_in_flight{module=%q} %d\n", module, n)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, body := f.get("/metrics"); strings.Contains(body, want) {
			return
		}
	}
	f.t.Fatalf("never %d probes of %s in flight", n, module)
}

// TestScrapeTimeoutHeaderBeyondModule: a scrape timeout longer than any
// time.Duration (1e308 seconds) leaves the module's timeout in force, and
// the debug output says so.
func TestScrapeTimeoutHeaderBeyondModule(t *testing.T) {
	silent := netlab.SilentUDP(t)
	f := newFixture(t, fmt.Sprintf(`modules:
  slow:
    checks: [stun.udp]
    timeout: 1s
    check_timeout: 20s
    allowed_targets: [%q]
`, silent), Options{TimeoutOffset: 500 * time.Millisecond})
	// 2.5s is the module's timeout, the runner's 1s of grace for a
	// straggling check and the offset.
	for _, v := range []string{"1e308", "1e10", "2.5"} {
		start := time.Now()
		code, body := f.get(probe("slow", "stun:"+silent, "&debug=true"), scrapeTimeoutHeader, v)
		took := time.Since(start)
		if code != 200 || !strings.Contains(body, "Deadline: 1s (the module's timeout; the X-Prometheus-Scrape-Timeout-Seconds header is longer).") {
			t.Errorf("%s: %d\n%s", v, code, body)
		}
		// The check stops at its deadline; the runner's grace for one
		// that does not is 1s.
		if took < 900*time.Millisecond || took > 2500*time.Millisecond {
			t.Errorf("%s: answered after %s, want about 1s", v, took)
		}
	}
}

// TestScrapeTimeoutHeaderHonoured: the probe's answer comes by
// Prometheus' scrape timeout minus the offset, even when the module allows
// longer: the checks' deadline leaves room for the runner's grace.
func TestScrapeTimeoutHeaderHonoured(t *testing.T) {
	silent := netlab.SilentUDP(t)
	f := newFixture(t, fmt.Sprintf(`modules:
  slow:
    checks: [stun.udp]
    timeout: 30s
    check_timeout: 20s
    allowed_targets: [%q]
`, silent), Options{TimeoutOffset: 500 * time.Millisecond})
	start := time.Now()
	code, body := f.get(probe("slow", "stun:"+silent), scrapeTimeoutHeader, "1.5")
	took := time.Since(start)
	if code != 200 || !strings.Contains(body, "\nprobe_success 0\n") {
		t.Fatalf("%d\n%s", code, body)
	}
	// 1.5s - 0.5s = 1s: 750ms for the checks, 250ms of grace for one that
	// overruns it.
	if took < 650*time.Millisecond || took >= 1500*time.Millisecond {
		t.Errorf("answered after %s, want about 750ms, and under the scrape timeout", took)
	}
	m := regexp.MustCompile(`(?m)^probe_duration_seconds (\S+)$`).FindStringSubmatch(body)
	if d, _ := strconv.ParseFloat(m[1], 64); m == nil || d > 1.5 {
		t.Errorf("probe_duration_seconds %v, want under the scrape timeout", m)
	}
	_, debug := f.get(probe("slow", "stun:"+silent, "&debug=true"), scrapeTimeoutHeader, "1.5")
	if !strings.Contains(debug, "Deadline: 750ms (scrape timeout 1.5s minus offset 500ms and 250ms of grace for checks that overrun it, capped by the module's timeout 30s).") ||
		!strings.Contains(debug, "FAIL stun.udp stun:"+silent) || !strings.Contains(debug, "cause:") || !strings.Contains(debug, "advice:") {
		t.Errorf("debug output:\n%s", debug)
	}
}

// TestNoSecretAnywhere: the module's TURN password appears in no answer,
// page, metric or log line, whether the probe passes or fails.
func TestNoSecretAnywhere(t *testing.T) {
	f := newFixture(t, `modules:
  turn_udp:
    checks: [turn.udp]
    options: {turn_packets: 3, turn_interval: 1ms}
    credentials: {username: "${USER}", password: "${PASSWORD}"}
    allowed_targets: ["127.0.0.1"]
  wrong:
    checks: [turn.udp]
    credentials: {username: "${USER}", password: "`+testPassword+`"}
    allowed_targets: ["127.0.0.1"]
`, Options{})
	var all strings.Builder
	for _, p := range []string{
		probe("turn_udp", "turn:"+f.addr()), probe("turn_udp", "turn:"+f.addr(), "&debug=true"),
		probe("wrong", "turn:"+f.addr()), probe("wrong", "turn:"+f.addr(), "&debug=true"),
		"/status", "/status/probes/1", "/status/probes/3", "/metrics",
	} {
		code, body := f.get(p)
		if code != 200 {
			t.Errorf("%s: %d %s", p, code, body)
		}
		all.WriteString(body)
	}
	out := all.String() + f.logs.String()
	for _, secret := range []string{testPassword, f.vars["PASSWORD"]} {
		if strings.Contains(out, secret) {
			t.Errorf("a password is shown:\n%s", out)
		}
	}
	for _, want := range []string{"PASS turn.udp turn:" + f.addr(), "evidence: relayed_address: 127.0.0.1:", "FAIL turn.udp", "401"} {
		if !strings.Contains(out, want) {
			t.Errorf("the answers lack %q", want)
		}
	}
}

// TestStatusPageListsModulesAndRecentProbes: /status is the exporter's
// page; each recent probe links to its debug output.
func TestStatusPageListsModulesAndRecentProbes(t *testing.T) {
	f := newFixture(t, "", Options{Version: "v-test"})
	f.get(probe("stun_udp", "stun:"+f.addr()))
	code, page := f.get("/status")
	for _, want := range []string{"<td>stun_udp</td><td>stun.udp</td><td>127.0.0.1:" + f.vars["PORT"] + ", 127.0.0.1:" + f.vars["TLS_PORT"],
		"No config: the default modules probe the embedded server only.", `<a href="status/probes/1">debug output</a>`,
		`<span class="ok">success</span>`, "v-test"} {
		if code != 200 || !strings.Contains(page, want) {
			t.Errorf("/status lacks %q:\n%s", want, page)
		}
	}
	if code, body := f.get("/status/probes/1"); code != 200 || !strings.Contains(body, "Module stun_udp (default modules:") || !strings.Contains(body, "probe_success 1") {
		t.Errorf("debug page: %d\n%s", code, body)
	}
	if code, _ := f.get("/status/probes/999"); code != 404 {
		t.Errorf("unknown probe: %d", code)
	}
	if code, body := f.get("/"); code != 200 || !strings.Contains(body, `href="status"`) {
		t.Errorf("/ without the pre-call page: %d %s", code, body)
	}
}

// TestFailOnDecidesProbeSuccess: a warning passes a module that fails on
// fail, and fails one that fails on warn; the status series says warn.
func TestFailOnDecidesProbeSuccess(t *testing.T) {
	mod := func(name, failOn string) string {
		return fmt.Sprintf(`  %s:
    checks: [stun.udp]
    fail_on: %s
    thresholds:
      stun.udp: {warn: rtt_p95_ms < 0.000001}
    allowed_targets: ["127.0.0.1"]
`, name, failOn)
	}
	f := newFixture(t, "modules:\n"+mod("lenient", "fail")+mod("strict", "warn"), Options{})
	for module, want := range map[string]string{"lenient": "1", "strict": "0"} {
		_, body := f.get(probe(module, "stun:"+f.addr()))
		if !strings.Contains(body, "\nprobe_success "+want+"\n") || !strings.Contains(body, `status="warn",transport="udp"} 1`) {
			t.Errorf("%s: want probe_success %s and a warn status:\n%s", module, want, body)
		}
	}
}

// TestModulePacesRelayedPackets: turn_interval reaches the probe: 20
// packets 1 ms apart take far less than the 380 ms of audio pacing.
func TestModulePacesRelayedPackets(t *testing.T) {
	f := newFixture(t, `modules:
  turn_udp:
    checks: [turn.udp]
    options: {turn_packets: 20, turn_interval: 1ms}
    credentials: {username: "${USER}", password: "${PASSWORD}"}
    allowed_targets: ["127.0.0.1"]
`, Options{})
	// ?transport=udp: with TCP on offer, the IPv6 question goes over TCP.
	_, body := f.get(probe("turn_udp", "turn:"+f.addr()+"?transport=udp"))
	m := regexp.MustCompile(`(?m)^probe_check_duration_seconds\{[^}]*\} (\S+)$`).FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, `probe_turn_packets_sent{check="turn.udp",family="ipv4",transport="udp"} 20`) {
		t.Fatalf("%s", body)
	}
	if !strings.Contains(body, "probe_turn_relay_ipv6{") {
		t.Error("no IPv6 relay request by default")
	}
	if d, _ := strconv.ParseFloat(m[1], 64); d >= 0.38 {
		t.Errorf("turn.udp took %vs with 20 packets 1ms apart", d)
	}
}

// TestReloadKeepsTheOldModulesOnError: a config that does not parse is
// refused whole; a good one replaces the modules.
func TestReloadKeepsTheOldModulesOnError(t *testing.T) {
	f := newFixture(t, "modules:\n  one:\n    checks: [stun.udp]\n    allowed_targets: [\"127.0.0.1\"]\n", Options{})
	f.write("modules:\n  two:\n    checks: [stun.nope]\n    allowed_targets: [\"127.0.0.1\"]\n")
	code, body := postReload(t, f.url)
	if code != 500 || strings.Contains(body, "rtcprobe.yml") {
		t.Errorf("broken reload: %d %s; want 500 naming no file", code, body)
	}
	if !strings.Contains(f.logs.String(), "rtcprobe.yml:3: modules.two.checks[0]: unknown check") {
		t.Errorf("the errors are not in the log:\n%s", f.logs.String())
	}
	if code, body := f.get(probe("one", "stun:"+f.addr())); code != 200 || !strings.Contains(body, "\nprobe_success 1\n") {
		t.Errorf("old module after a refused reload: %d %s", code, body)
	}
	if _, m := f.get("/metrics"); !strings.Contains(m, "rtcprobe_config_last_reload_successful 0") {
		t.Error("refused reload not in the metrics")
	}
	f.write("modules:\n  two:\n    checks: [stun.udp]\n    allowed_targets: [\"127.0.0.1\"]\n")
	if code, body := postReload(t, f.url); code != 200 {
		t.Fatalf("good reload: %d %s", code, body)
	}
	if code, _ := f.get(probe("one", "stun:"+f.addr())); code != 400 {
		t.Errorf("module one after it was removed: %d", code)
	}
	if code, _ := f.get(probe("two", "stun:"+f.addr())); code != 200 {
		t.Errorf("module two after reload: %d", code)
	}
}

func postReload(t *testing.T, base string) (int, string) {
	t.Helper()
	resp, err := http.Post(base+"/-/reload", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestNoLeakAfter1000Probes: after 1,000 probes every goroutine and
// socket a probe used is gone.
func TestNoLeakAfter1000Probes(t *testing.T) {
	testenv.CheckGoroutines(t)
	f := newFixture(t, "", Options{})
	u := f.url + probe("stun_udp", "stun:"+f.addr())
	client := &http.Client{Transport: &http.Transport{}}
	fetch := func() {
		resp, err := client.Get(u)
		if err != nil {
			t.Error(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// The verdict is not what this test is about (a loaded machine
		// can push the loopback RTT past a threshold): the probe ran.
		if !bytes.Contains(body, []byte("\nprobe_success ")) || !bytes.Contains(body, []byte(`probe_stun_responses{check="stun.udp"`)) {
			t.Errorf("%s", body)
		}
	}
	fetch() // warm: lazily created sockets and goroutines
	client.CloseIdleConnections()
	before := openFDs(t)
	var wg sync.WaitGroup
	jobs := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for range jobs {
				fetch()
			}
		})
	}
	for range 1000 {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	client.CloseIdleConnections()
	var after int
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if after = openFDs(t); after <= before || time.Now().After(deadline) {
			break
		}
	}
	if after > before {
		t.Errorf("%d file descriptors open after 1,000 probes, %d before", after, before)
	}
	_, m := f.get("/metrics")
	counted := 0
	for _, result := range []string{"success", "failure"} {
		re := regexp.MustCompile(`rtcprobe_probes_total\{module="stun_udp",result="` + result + `"\} (\d+)`)
		if sm := re.FindStringSubmatch(m); sm != nil {
			n, _ := strconv.Atoi(sm[1])
			counted += n
		}
	}
	if counted != 1001 {
		t.Errorf("%d probes counted, want 1001:\n%s", counted, m)
	}
}

func openFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// TestModuleAsksForTCP: a module that selects stun.tcp asked for TCP, so
// a server that refuses TCP fails it, where a CLI run against the same
// stun: URI (which names UDP) only warns about the extra diagnostic.
func TestModuleAsksForTCP(t *testing.T) {
	udpOnly := netlab.SilentUDP(t) // nothing listens on TCP at this port
	f := newFixture(t, fmt.Sprintf(`modules:
  stun_tcp:
    checks: [stun.tcp]
    allowed_targets: [%q]
`, udpOnly), Options{})
	_, body := f.get(probe("stun_tcp", "stun:"+udpOnly))
	if !strings.Contains(body, "\nprobe_success 0\n") || !strings.Contains(body, `probe_check_status{check="stun.tcp",family="ipv4",status="fail",transport="tcp"} 1`) {
		t.Errorf("TCP refused for a module that asked for it:\n%s", body)
	}
	// The cause, as the diagnosis table read it: a reset leaves two open.
	if !strings.Contains(body, `probe_check_diagnosis{check="stun.tcp",decided="false",family="ipv4",rule="tcp-reset",transport="tcp"} 1`) {
		t.Errorf("no diagnosis series:\n%s", body)
	}
}

// The exporter words what the checks refer to as its users write it, in
// a module: a TURN server that wants credentials the module lacks gets
// advice naming credentials.username, never a command-line flag, and a
// module whose checks cannot run is told the option by its key.
func TestDebugNamesModuleKeys(t *testing.T) {
	f := newFixture(t, `modules:
  nocreds:
    checks: [turn.udp]
    allowed_targets: ["127.0.0.1"]
  interop:
    checks: [interop.call]
    allowed_targets: ["127.0.0.1"]
`, Options{})
	// A module error names the module's key too.
	if code, body := f.get(probe("interop", "turn:"+f.addr())); code != 400 || !strings.Contains(body, "needs two browsers (options.browsers: chromium,firefox)") {
		t.Errorf("interop module: %d %s; want 400 naming options.browsers", code, body)
	}
	code, body := f.get(probe("nocreds", "turn:"+f.addr(), "&debug=true"))
	if code != 200 || !strings.Contains(body, "FAIL turn.udp") {
		t.Fatalf("%d %s", code, body)
	}
	for _, want := range []string{"credentials.username and credentials.password", "(credentials.secret)"} {
		if !strings.Contains(body, want) {
			t.Errorf("the debug output lacks %q:\n%s", want, body)
		}
	}
	for _, not := range []string{"--user", "--password", "--turn-secret", "{option:"} {
		if strings.Contains(body, not) {
			t.Errorf("the debug output names %q:\n%s", not, body)
		}
	}
}
