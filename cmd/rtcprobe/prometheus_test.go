package main

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// prometheus is a real Prometheus (Debian's) the test started on a free
// port with its own storage.
type prometheus struct {
	base string
	log  *netlab.SyncBuffer
}

// scrapeJob is one probe job: a module and the targets Prometheus gives
// it, relabelled to the exporter as the README shows.
type scrapeJob struct {
	module  string
	targets []string
}

// startPrometheus runs prometheus scraping the exporter at exporter
// every second: its /metrics, and /probe once per job and target.
func startPrometheus(t *testing.T, exporter string, jobs []scrapeJob) *prometheus {
	t.Helper()
	return startPrometheusAuth(t, exporter, "", "", jobs)
}

// startPrometheusAuth is startPrometheus presenting basic auth (when user
// is not empty) on every scrape.
func startPrometheusAuth(t *testing.T, exporter, user, password string, jobs []scrapeJob) *prometheus {
	t.Helper()
	bin := testenv.LookPath(t, "prometheus")
	dir := t.TempDir()
	var b strings.Builder
	auth := ""
	if user != "" {
		auth = fmt.Sprintf("    basic_auth: {username: %q, password: %q}\n", user, password)
	}
	fmt.Fprintf(&b, "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: rtcprobe\n%s    static_configs: [{targets: [%q]}]\n", auth, exporter)
	for _, j := range jobs {
		quoted := make([]string, len(j.targets))
		for i, tg := range j.targets {
			quoted[i] = fmt.Sprintf("%q", tg)
		}
		fmt.Fprintf(&b, `  - job_name: %s
%s    metrics_path: /probe
    params: {module: [%s]}
    static_configs: [{targets: [%s]}]
    relabel_configs:
      - {source_labels: [__address__], target_label: __param_target}
      - {source_labels: [__param_target], target_label: instance}
      - {target_label: __address__, replacement: %q}
`, j.module, auth, j.module, strings.Join(quoted, ", "), exporter)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", coturn.FreePort(t))
	p := &prometheus{base: "http://" + addr, log: &netlab.SyncBuffer{}}
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = p.log, p.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("prometheus log:\n%s", p.log.String())
		}
	})
	waitHTTP(t, p.base+"/-/ready")
	return p
}

// sample is one series of an instant query's answer.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s sample) value() string { v, _ := s.Value[1].(string); return v }

// query asks Prometheus' HTTP API for an instant vector.
func (p *prometheus) query(t *testing.T, q string) []sample {
	t.Helper()
	resp, err := http.Get(p.base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []sample `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Status != "success" {
		t.Fatalf("query %s: %v %s", q, err, out.Error)
	}
	return out.Data.Result
}

// waitSeries waits until the query answers with a series for every
// instance, each with the value want ("" for any), or fails after 60s.
func (p *prometheus) waitSeries(t *testing.T, q string, instances []string, want string) {
	t.Helper()
	var got []sample
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		got = p.query(t, q)
		missing := false
		for _, inst := range instances {
			found := false
			for _, s := range got {
				if s.Metric["instance"] == inst && (want == "" || s.value() == want) {
					found = true
				}
			}
			missing = missing || !found
		}
		if !missing {
			return
		}
	}
	t.Errorf("%s: want a series valued %q for each of %v; Prometheus has %+v", q, want, instances, got)
}

// writeCAFile writes PEM certificates into one trust file for --ca.
func writeCAFile(t *testing.T, pems ...[]byte) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, []byte(strings.Join(func() []string {
		out := make([]string, len(pems))
		for i, p := range pems {
			out[i] = string(p)
		}
		return out
	}(), "")), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestPrometheusScrapesServe: a real Prometheus scrapes rtcprobe serve
// every second; each module probes an embedded server and a real coturn,
// and Prometheus' API has probe_success 1 and a round-trip series for
// every module and target, and the exporter's own metrics.
func TestPrometheusScrapesServe(t *testing.T) {
	emb := startServer(t, iceserver.Config{})
	user, password := emb.Credentials()
	// One credential for both servers: a module presents one.
	ct := coturn.Start(t, coturn.Config{User: user, Password: password, TLS: true})
	embPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: emb.Certificate().Raw})
	coturnPEM, err := os.ReadFile(ct.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, `modules:
  stun_udp:
    checks: [stun.udp]
    allowed_targets: ["127.0.0.1"]
  turn_udp: &turn
    checks: [turn.udp]
    options: {turn_packets: 5, turn_interval: 1ms}
    credentials: {username: "${RTCPROBE_TEST_USER}", password: "${RTCPROBE_TEST_PASSWORD}"}
    allowed_targets: ["127.0.0.1"]
  turn_tcp:
    <<: *turn
    checks: [turn.tcp]
  turn_tls:
    <<: *turn
    checks: [turn.tls]
  ice_relay:
    <<: *turn
    checks: [ice.relay]
`)
	srv := startServe(t, []string{"RTCPROBE_TEST_USER=" + user, "RTCPROBE_TEST_PASSWORD=" + password},
		"--config", cfg, "--ca", writeCAFile(t, embPEM, coturnPEM), "--timeout-offset", "100ms")
	embAddr, coturnAddr := emb.Servers()[0].Addr(), fmt.Sprintf("127.0.0.1:%d", ct.Port)
	tlsTargets := []string{fmt.Sprintf("turns:127.0.0.1:%d", emb.TLSPort()), fmt.Sprintf("turns:127.0.0.1:%d", ct.TLSPort)}
	jobs := []scrapeJob{
		{"stun_udp", []string{"stun:" + embAddr, "stun:" + coturnAddr}},
		{"turn_udp", []string{"turn:" + embAddr, "turn:" + coturnAddr}},
		{"turn_tcp", []string{"turn:" + embAddr, "turn:" + coturnAddr}},
		{"turn_tls", tlsTargets},
		{"ice_relay", []string{"turn:" + embAddr, "turn:" + coturnAddr}},
	}
	prom := startPrometheus(t, srv.addr, jobs)
	rtt := map[string]string{
		"stun_udp":  `probe_stun_rtt_median_seconds{job="stun_udp",check="stun.udp"}`,
		"turn_udp":  `probe_turn_rtt_median_seconds{job="turn_udp",check="turn.udp",transport="udp"}`,
		"turn_tcp":  `probe_turn_rtt_median_seconds{job="turn_tcp",check="turn.tcp",transport="tcp"}`,
		"turn_tls":  `probe_turn_rtt_median_seconds{job="turn_tls",check="turn.tls",transport="tls"}`,
		"ice_relay": `probe_ice_ice_rtt_seconds{job="ice_relay",check="ice.relay",transport="udp"}`,
	}
	for _, j := range jobs {
		prom.waitSeries(t, fmt.Sprintf(`probe_success{job=%q}`, j.module), j.targets, "1")
		prom.waitSeries(t, rtt[j.module]+" > 0", j.targets, "")
	}
	// The exporter's own metrics, scraped from /metrics.
	prom.waitSeries(t, `up{job="rtcprobe"}`, []string{srv.addr}, "1")
	prom.waitSeries(t, `rtcprobe_probes_total{job="rtcprobe",module="turn_udp",result="success"} > 0`, []string{srv.addr}, "")
	if t.Failed() {
		for _, j := range jobs {
			for _, tg := range j.targets {
				_, body := srv.get(t, probePath(j.module, tg)+"&debug=true")
				t.Logf("%s %s:\n%s", j.module, tg, body)
			}
		}
	}
}
