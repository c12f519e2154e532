package exporter

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/report"
)

// probeRegistry is a registry for one probe's answer, as
// blackbox_exporter makes one per probe: probe_success,
// probe_duration_seconds, a status series per check and every metric of
// every check in base units.
func probeRegistry(rep report.Report, success bool, took time.Duration) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(&resultCollector{rep: rep, success: success, took: took})
	return reg
}

// resultCollector turns a report into constant metrics. It is unchecked
// (it describes nothing): which series exist depends on what the checks
// measured.
type resultCollector struct {
	rep     report.Report
	success bool
	took    time.Duration
}

func (c *resultCollector) Describe(chan<- *prometheus.Desc) {}

// series is one sample before it becomes a metric.
type series struct {
	labels map[string]string
	value  float64
}

type family struct {
	help   string
	series []series
}

func (c *resultCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(name, help string, v float64) {
		ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, help, nil, nil), prometheus.GaugeValue, v)
	}
	gauge("probe_success", "1 when the module's verdict passes (pass, or warn when the module's fail_on allows it), else 0.", boolValue(c.success))
	gauge("probe_duration_seconds", "How long the probe took, in seconds.", c.took.Seconds())

	families := map[string]*family{}
	add := func(name, help string, labels map[string]string, v float64) {
		f := families[name]
		if f == nil {
			f = &family{help: help}
			families[name] = f
		}
		f.series = append(f.series, series{labels: labels, value: v})
	}
	for _, r := range c.rep.Results {
		labels := resultLabels(r)
		for _, st := range checks.Statuses {
			l := with(labels, "status", string(st))
			add("probe_check_status", "The check's verdict: 1 for its status, 0 for the others.", l, boolValue(r.Status == st))
		}
		add("probe_check_duration_seconds", "How long the check took, in seconds.", labels, r.Duration.Seconds())
		group := checks.Group(r.CheckID)
		for _, m := range sortedKeys(r.Metrics) {
			name, v := promName(group, m, r.Metrics[m])
			add(name, fmt.Sprintf("The %s checks' %s, in base units.", group, m), labels, v)
		}
	}
	for _, name := range sortedKeys(families) {
		f := families[name]
		// One family has one set of label names: those any of its
		// series has (a series without one gets it empty).
		var names []string
		for _, s := range f.series {
			for k, v := range s.labels {
				if v != "" && !slices.Contains(names, k) {
					names = append(names, k)
				}
			}
		}
		sort.Strings(names)
		desc := prometheus.NewDesc(name, f.help, names, nil)
		seen := map[string]bool{}
		for _, s := range f.series {
			values := make([]string, len(names))
			for i, k := range names {
				values[i] = s.labels[k]
			}
			// Two results with the same labels (a target named twice)
			// would be a duplicate series: keep the first.
			key := fmt.Sprint(values)
			if seen[key] {
				continue
			}
			seen[key] = true
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, s.value, values...)
		}
	}
}

// resultLabels are check, and transport and family where they apply.
func resultLabels(r checks.Result) map[string]string {
	l := map[string]string{"check": r.CheckID}
	tgt := r.Subject.Target
	if tgt.Transport != "" {
		l["transport"] = string(tgt.Transport)
	}
	if f := addressFamily(r); f != "" {
		l["family"] = f
	}
	return l
}

// addressFamily is the IP family the check spoke to the server over: the
// server's address when the target is an IP literal, else the family of
// the local address the probe used.
func addressFamily(r checks.Result) string {
	if r.Subject.Target.Transport == "" {
		return "" // not a server check
	}
	if ip, err := netip.ParseAddr(r.Subject.Target.Server.URI.Host); err == nil {
		return familyOf(ip)
	}
	for _, e := range r.Evidence {
		if e.Name == "local_address" {
			if ap, err := netip.ParseAddrPort(e.Value); err == nil {
				return familyOf(ap.Addr())
			}
		}
	}
	return ""
}

func familyOf(ip netip.Addr) string {
	if ip.Unmap().Is4() {
		return "ipv4"
	}
	return "ipv6"
}

func with(l map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(l)+1)
	for a, b := range l {
		out[a] = b
	}
	out[k] = v
	return out
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
