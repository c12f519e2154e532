package exporter

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rtcprobe/rtcprobe/checks/result"
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
	help   func() string // called only when the family is first described
	series []series
}

func (c *resultCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(name, help string, v float64) {
		ch <- prometheus.MustNewConstMetric(describe(name, func() string { return help }, nil), prometheus.GaugeValue, v)
	}
	gauge("probe_success", "1 when the module's verdict passes (pass, or warn when the module's fail_on allows it), else 0 (also when every check skipped).", boolValue(c.success))
	gauge("probe_duration_seconds", "How long the probe took, in seconds.", c.took.Seconds())

	families := map[string]*family{}
	add := func(name string, help func() string, labels map[string]string, v float64) {
		f := families[name]
		if f == nil {
			f = &family{help: help}
			families[name] = f
		}
		f.series = append(f.series, series{labels: labels, value: v})
	}
	statusHelp := func() string { return "The check's verdict: 1 for its status, 0 for the others." }
	durationHelp := func() string { return "How long the check took, in seconds." }
	diagnosisHelp := func() string {
		return "1 for the diagnosis-table row that read a failed check's observations; decided=\"false\" when they leave several causes open."
	}
	for _, r := range c.rep.Results {
		labels := resultLabels(r)
		for _, st := range result.Statuses {
			add("probe_check_status", statusHelp, with(labels, "status", string(st)), boolValue(r.Status == st))
		}
		add("probe_check_duration_seconds", durationHelp, labels, r.Duration.Seconds())
		if d := r.Diagnosis; d != nil {
			// The rule is a row of a fixed table: a bounded label.
			add("probe_check_diagnosis", diagnosisHelp, with(with(labels, "rule", d.Rule), "decided", fmt.Sprint(d.Decided())), 1)
		}
		group := result.Group(r.CheckID)
		for m, v := range r.Metrics {
			name, v := promName(group, m, v)
			add(name, func() string { return fmt.Sprintf("The %s checks' %s, in base units.", group, m) }, labels, v)
		}
	}
	for name, f := range families {
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
		desc := describe(name, f.help, names)
		seen := map[string]bool{}
		for _, s := range f.series {
			values := make([]string, len(names))
			for i, k := range names {
				values[i] = s.labels[k]
			}
			// Two results with the same labels (a target named twice)
			// would be a duplicate series: keep the first.
			key := strings.Join(values, "\x00")
			if seen[key] {
				continue
			}
			seen[key] = true
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, s.value, values...)
		}
	}
}

// descs caches descriptors: a probe's metric names and label sets come
// from the catalogue, so they are few, and building a Desc (validating,
// hashing) for every series of every probe would cost more than the
// probe's own work.
var descs sync.Map // name + label names → *prometheus.Desc

func describe(name string, help func() string, labels []string) *prometheus.Desc {
	key := name + "\x00" + strings.Join(labels, "\x00")
	if d, ok := descs.Load(key); ok {
		return d.(*prometheus.Desc)
	}
	d, _ := descs.LoadOrStore(key, prometheus.NewDesc(name, help(), labels, nil))
	return d.(*prometheus.Desc)
}

// resultLabels are check, and transport and family where they apply.
func resultLabels(r result.Result) map[string]string {
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
func addressFamily(r result.Result) string {
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
