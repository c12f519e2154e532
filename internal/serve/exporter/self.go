package exporter

import (
	"github.com/prometheus/client_golang/prometheus"
)

// selfMetrics are the exporter's own health on /metrics: probes by module
// and result, their duration, those in flight, refusals and modules.
type selfMetrics struct {
	probes   *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight *prometheus.GaugeVec
	refused  *prometheus.CounterVec
	modules  prometheus.Gauge
}

func newSelfMetrics() *selfMetrics {
	return &selfMetrics{
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rtcprobe_probes_total",
			Help: "Probes run, by module and result (success or failure)."}, []string{"module", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "rtcprobe_probe_duration_seconds",
			Help:    "How long probes took, by module.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}, []string{"module"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rtcprobe_probes_in_flight",
			Help: "Probes running now, by module."}, []string{"module"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rtcprobe_probes_refused_total",
			Help: "Probe requests refused before probing, by reason: bad_request (400), not_allowed (403), concurrency (429), closing (503)."},
			[]string{"reason"}),
		modules: prometheus.NewGauge(prometheus.GaugeOpts{Name: "rtcprobe_modules",
			Help: "Modules configured."}),
	}
}

func (m *selfMetrics) register(r prometheus.Registerer) {
	if r == nil {
		return
	}
	r.MustRegister(m.probes, m.duration, m.inFlight, m.refused, m.modules)
	for _, reason := range []string{"bad_request", "not_allowed", "concurrency", "closing"} {
		m.refused.WithLabelValues(reason)
	}
}
