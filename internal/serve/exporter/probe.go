package exporter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/internal/engine"
	"github.com/rtcprobe/rtcprobe/probes"
)

// moduleWords names options as a module sets them (options.stun_count):
// the exporter's users write modules, not command lines.
var moduleWords = config.Words(config.ModuleWords)

// scrapeTimeoutHeader is how Prometheus says how long it will wait.
const scrapeTimeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"

// serveProbe is GET /probe?module=NAME&target=URI[&debug=true]. A probe
// that ran answers 200 whatever it found (probe_success 0 is a finding);
// 4xx are requests that were not probed, each naming what was wrong.
func (e *Exporter) serveProbe(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	q := r.URL.Query()
	st := e.state.Load()
	m, err := st.lookup(q.Get("module"))
	if err != nil {
		e.refuse(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	tgt, err := parseTarget(q.Get("target"))
	if err != nil {
		e.refuse(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if _, ok := m.Allows(tgt.endpoint); !ok {
		e.refuse(w, http.StatusForbidden, "not_allowed", fmt.Sprintf("target %s is not allowed by module %s: no rule of its allowed_targets (%s) matches it: %s",
			tgt.name(), m.Name, m.Where, rulesText(m.AllowedTargets)))
		return
	}
	scrapeTimeout, err := headerTimeout(r.Header.Get(scrapeTimeoutHeader))
	if err != nil {
		e.refuse(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if !e.begin() {
		e.refuse(w, http.StatusServiceUnavailable, "closing", "the exporter is shutting down")
		return
	}
	defer e.inFlight.Done()
	if !e.global.take() {
		w.Header().Set("Retry-After", "1")
		e.refuse(w, http.StatusTooManyRequests, "concurrency", fmt.Sprintf("%d probes are in flight, the exporter's limit", cap(e.global)))
		return
	}
	defer e.global.release()
	if !m.slots.take() {
		w.Header().Set("Retry-After", "1")
		e.refuse(w, http.StatusTooManyRequests, "concurrency", fmt.Sprintf("module %s has %d probes in flight, its max_concurrent", m.Name, cap(m.slots)))
		return
	}
	defer m.slots.release()

	in := engine.Input{Catalog: e.opt.Catalog, Module: m.Module, Embedded: e.opt.Embedded, TLS: e.opt.TLS, Version: e.opt.Version,
		Words: moduleWords, Sockets: e.sockets}
	if tgt.server != nil {
		in.Servers = []probes.Server{m.Credentials(*tgt.server)}
	} else {
		in.Signaling = []*url.URL{tgt.url}
	}
	run, err := engine.Prepare(in)
	var nothing *engine.NothingToRunError
	switch {
	case errors.As(err, &nothing):
		e.refuse(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("module %s cannot probe target %s: %s", m.Name, tgt.name(), moduleWords.Say(err.Error())))
		return
	case err != nil:
		e.log.Error("probe not started", "module", m.Name, "target", tgt.name(), "err", err)
		http.Error(w, "500 probe not started: "+moduleWords.Say(err.Error()), http.StatusInternalServerError)
		return
	}
	defer run.Close()
	dl := deadline(run.Plan.Settings.Timeout, scrapeTimeout, e.opt.TimeoutOffset)
	run.Plan.StragglerGrace = dl.grace
	ctx, cancel := context.WithTimeout(r.Context(), dl.limit)
	defer cancel()

	inFlight := e.metrics.inFlight.WithLabelValues(m.Name)
	inFlight.Inc()
	rep := run.Execute(ctx, nil)
	inFlight.Dec()
	took := time.Since(start)
	success := engine.OutcomeOf(rep).Success()
	e.metrics.probes.WithLabelValues(m.Name, map[bool]string{true: "success", false: "failure"}[success]).Inc()
	e.metrics.duration.WithLabelValues(m.Name).Observe(took.Seconds())
	p := &probeRecord{At: start, Module: m.Name, Where: m.Where, Target: tgt.name(), Success: success, Took: took,
		Deadline: dl, FailOn: run.Plan.Settings.FailOn, Report: rep}
	e.recent.add(p)
	e.log.Debug("probe", "module", m.Name, "target", tgt.name(), "success", success, "took", took)

	reg := probeRegistry(rep, success, took)
	if q.Get("debug") == "true" {
		writeDebug(w, p, reg)
		return
	}
	// A probe's answer is a few KiB: compressing it costs more CPU than
	// it saves on the wire.
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{DisableCompression: true}).ServeHTTP(w, r)
}

// lookup finds a module by name; errors name it and list the others.
func (st *state) lookup(name string) (*module, error) {
	if name == "" {
		return nil, fmt.Errorf("missing module parameter (modules: %s)", st.namesText())
	}
	m := st.modules[name]
	if m == nil {
		return nil, fmt.Errorf("unknown module %s (modules: %s)", quoteParam(name), st.namesText())
	}
	return m, nil
}

func (st *state) namesText() string {
	if len(st.names) == 0 {
		return "none configured"
	}
	return strings.Join(st.names, ", ")
}

func rulesText(rules []config.AllowRule) string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.Text
	}
	return strings.Join(out, ", ")
}

// refuse answers a request that was not probed.
func (e *Exporter) refuse(w http.ResponseWriter, code int, reason, msg string) {
	e.metrics.refused.WithLabelValues(reason).Inc()
	e.log.Info("probe refused", "status", code, "why", msg)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.Error(w, fmt.Sprintf("%d %s: %s", code, http.StatusText(code), msg), code)
}

// headerTimeout reads Prometheus' scrape timeout in seconds; 0 when
// absent. It stays a float until the module's timeout is known: 1e308
// seconds is no time.Duration.
func headerTimeout(v string) (float64, error) {
	if v == "" {
		return 0, nil
	}
	secs, err := strconv.ParseFloat(v, 64)
	// Under a millisecond is no scrape timeout Prometheus sends; as a
	// Duration it could round to 0, which means "no header".
	if err != nil || math.IsNaN(secs) || secs < 0.001 || math.IsInf(secs, 0) {
		return 0, fmt.Errorf("invalid %s header %s (want seconds from 0.001, like 10)", scrapeTimeoutHeader, quoteParam(v))
	}
	return secs, nil
}

// probeDeadline is how long a probe may take and why.
type probeDeadline struct {
	limit, module, scrape, offset time.Duration
	// grace is the runner's wait for a check that ignores the deadline:
	// the probe answers by limit + grace.
	grace time.Duration
	// longer: the scrape timeout exceeds the module's timeout plus the
	// runner's grace plus the offset, so the module's timeout decides
	// alone.
	longer bool
}

func (d probeDeadline) String() string {
	switch {
	case d.longer:
		return fmt.Sprintf("%s (the module's timeout; the %s header is longer)", d.limit, scrapeTimeoutHeader)
	case d.scrape == 0:
		return fmt.Sprintf("%s (the module's timeout; no %s header)", d.limit, scrapeTimeoutHeader)
	}
	return fmt.Sprintf("%s (scrape timeout %s minus offset %s and %s of grace for checks that overrun it, capped by the module's timeout %s)",
		d.limit, d.scrape, d.offset, d.grace, d.module)
}

// deadline is the scrape timeout minus the offset, capped by the module's
// own timeout: the whole answer comes by then, the runner's grace for a
// check that overruns its deadline included. The grace is the runner's
// (checks.StragglerGrace) when it fits, else what is left after the
// module's timeout, and at least a quarter of the time. An offset as long
// as the scrape timeout leaves half of it.
func deadline(module time.Duration, scrapeSecs float64, offset time.Duration) probeDeadline {
	d := probeDeadline{limit: module, module: module, offset: offset, grace: checks.StragglerGrace}
	switch {
	case scrapeSecs <= 0:
	case scrapeSecs >= (module + checks.StragglerGrace + offset).Seconds():
		d.longer = true
	default:
		d.scrape = time.Duration(scrapeSecs * float64(time.Second))
		left := d.scrape - offset
		if left <= 0 {
			left = d.scrape / 2
		}
		d.limit = min(module, left-min(checks.StragglerGrace, left/4))
		d.grace = min(checks.StragglerGrace, left-d.limit)
	}
	return d
}
