package exporter

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

const examples = "../../../examples/prometheus"

// TestExamplesPassPromtool: the example Prometheus config, its alert
// rules and the rules' unit tests pass Prometheus' own checker.
func TestExamplesPassPromtool(t *testing.T) {
	bin := testenv.LookPath(t, "promtool")
	for _, args := range [][]string{
		{"check", "config", "prometheus.yml"},
		{"check", "rules", "rtcprobe-alerts.yml"},
		{"test", "rules", "rtcprobe-alerts.test.yml"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = examples
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestExampleModules: the documented modules parse and every one the
// README names is there and loads into the exporter.
func TestExampleModules(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(examples, "rtcprobe.yml"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TURN_PASSWORD": "pw", "TURN_SECRET": "secret"}
	cfg, err := config.Parse("rtcprobe.yml", data, config.Env{Catalog: checks.Entries(checks.Catalog()),
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"stun_udp", "stun_tcp", "turn_udp", "turn_tcp", "turn_tls", "ice_relay", "firewall", "signaling"} {
		if cfg.Modules[name] == nil {
			t.Errorf("module %s is not in the example", name)
		}
	}
	if err := New(Options{}).Reload(cfg); err != nil {
		t.Error(err)
	}
}

var (
	metricRef = regexp.MustCompile(`\b(?:probe|rtcprobe)_[a-z0-9_]+`)
	quoted    = regexp.MustCompile(`"[^"]*"`)
)

// TestExampleQueriesNameRealMetrics: every metric the dashboard and the
// alert rules query is one the exporter produces.
func TestExampleQueriesNameRealMetrics(t *testing.T) {
	known := map[string]bool{"probe_success": true, "probe_duration_seconds": true, "probe_check_status": true, "probe_check_duration_seconds": true,
		"rtcprobe_config_last_reload_successful": true, "rtcprobe_config_last_reload_success_timestamp_seconds": true}
	for _, c := range checks.Catalog() {
		for _, m := range c.Metrics {
			name, _ := promName(c.Group(), m, 1)
			known[name] = true
		}
	}
	reg := prometheus.NewRegistry()
	self := newSelfMetrics()
	self.register(reg)
	self.duration.WithLabelValues("m").Observe(1)
	self.probes.WithLabelValues("m", "success").Inc()
	self.inFlight.WithLabelValues("m")
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		known[mf.GetName()] = true
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			known[mf.GetName()+suffix] = true
		}
	}

	var exprs []string
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	data, err := os.ReadFile(filepath.Join(examples, "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	var rules struct {
		Groups []struct {
			Rules []struct{ Expr string }
		}
	}
	data, err = os.ReadFile(filepath.Join(examples, "rtcprobe-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &rules); err != nil {
		t.Fatal(err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
		}
	}
	if len(exprs) < 15 {
		t.Fatalf("only %d queries found", len(exprs))
	}
	for _, e := range exprs {
		// Label values (job names) are not metric names.
		for _, name := range metricRef.FindAllString(quoted.ReplaceAllString(e, `""`), -1) {
			if !known[name] {
				t.Errorf("%q queries %s, which rtcprobe does not produce", e, name)
			}
		}
	}
	if !slices.ContainsFunc(exprs, func(e string) bool { return strings.Contains(e, "probe_turn_rtt_p95_seconds") }) {
		t.Error("no query of the relayed round trip")
	}
}

// TestDashboardFiltersByVantage: the dashboard has a vantage-point
// variable and every query filters on it, so one exporter per node (or
// per office) can be looked at on its own.
func TestDashboardFiltersByVantage(t *testing.T) {
	var dash struct {
		Templating struct {
			List []struct{ Name, Definition string }
		}
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	data, err := os.ReadFile(filepath.Join(examples, "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(dash.Templating.List, func(v struct{ Name, Definition string }) bool {
		return v.Name == "vantage" && strings.Contains(v.Definition, "vantage")
	}) {
		t.Error("no vantage variable")
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			if !strings.Contains(tg.Expr, `vantage=~"$vantage"`) {
				t.Errorf("panel %q: %s does not filter on $vantage", p.Title, tg.Expr)
			}
		}
	}
}
