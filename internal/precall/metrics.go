package precall

import "github.com/prometheus/client_golang/prometheus"

// metrics are the pre-call page's own, on the server's /metrics.
type metrics struct {
	sessions     prometheus.Counter
	taken        prometheus.Counter
	calls        prometheus.Counter
	results      *prometheus.CounterVec
	refused      *prometheus.CounterVec
	writeSeconds prometheus.Histogram
	candidates   *prometheus.CounterVec
}

func newMetrics() *metrics {
	return &metrics{
		sessions: prometheus.NewCounter(prometheus.CounterOpts{Name: "rtcprobe_precall_sessions_total", Help: "Pre-call sessions started."}),
		taken: prometheus.NewCounter(prometheus.CounterOpts{Name: "rtcprobe_precall_sessions_taken_total",
			Help: "Idle pre-call sessions ended to make room for a new one at the cap (max_sessions): the longest idle of the network holding the most."}),
		calls: prometheus.NewCounter(prometheus.CounterOpts{Name: "rtcprobe_precall_calls_total", Help: "Calls the server's pion peer answered for pre-call pages."}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rtcprobe_precall_results_total",
			Help: "Pre-call results stored, by verdict."}, []string{"verdict"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rtcprobe_precall_refused_total",
			Help: "Pre-call requests refused: origin (a cross-origin request), rate (sessions a minute from one address or network), full (the cap on sessions in progress), address and network (one client address's or network's share of it), replay (a token used twice, or a second post in flight), busy (too many results posted at once), quota (a client's results an hour, precall.results_per_hour), too_large (a judged report over 64 KiB), store (the store could not write the result)."}, []string{"reason"}),
		candidates: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rtcprobe_precall_peer_candidates_total",
			Help: "Remote ICE candidates of offers to the server's pion peer: accepted, or dropped by reason: address (loopback, private, link-local, multicast, … not in peer_allowed_networks), name (mDNS or other host names, never resolved), malformed, budget (over 16 a call or 64 a session)."}, []string{"result"}),
		writeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "rtcprobe_precall_result_write_seconds",
			Help: "Time to store a pre-call result durably.", Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}}),
	}
}

// register adds the metrics, and a gauge of the sessions in progress
// that live counts, to r.
func (m *metrics) register(r prometheus.Registerer, live func() int, writable func() bool) {
	if r == nil {
		return
	}
	active := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rtcprobe_precall_sessions_active", Help: "Pre-call sessions in progress."},
		func() float64 { return float64(live()) })
	up := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rtcprobe_precall_store_writable",
		Help: "Whether the results store took the last write or health check (1) or failed it (0)."},
		func() float64 {
			if writable() {
				return 1
			}
			return 0
		})
	r.MustRegister(m.sessions, m.taken, m.calls, m.results, m.refused, m.writeSeconds, m.candidates, active, up)
}
