// Package exporter is rtcprobe serve's Prometheus exporter: /probe runs a
// module (a profile plus credentials and an allow-list) against a target
// through the engine and answers in the Prometheus text format, as
// blackbox_exporter does for HTTP; /status shows the modules and the
// recent probes. Its own health goes to the server's /metrics.
package exporter

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/serve"
	"github.com/rtcprobe/rtcprobe/probes"
)

// Options configure the exporter; the zero value works.
type Options struct {
	// Catalog is the checks modules choose from; nil means
	// checks.Catalog().
	Catalog []*checks.Check
	// Embedded is the embedded server serve runs without a config: the
	// default modules probe it (and only it), and every probe trusts its
	// certificate.
	Embedded *iceserver.Server
	// TLS is the client trust for stuns:, turns: and wss: targets; nil
	// means the system's roots.
	TLS *tls.Config
	// MaxConcurrent caps probes in flight across modules (default 64);
	// a module's max_concurrent caps its own.
	MaxConcurrent int
	// TimeoutOffset is taken off Prometheus' scrape timeout, so that the
	// answer arrives before Prometheus gives up (default 500ms).
	TimeoutOffset time.Duration
	// Recent is how many probes /status remembers (default 100).
	Recent  int
	Logger  *slog.Logger
	Version string
}

// Exporter is the exporter component.
type Exporter struct {
	opt     Options
	log     *slog.Logger
	state   atomic.Pointer[state]
	global  slots
	metrics *selfMetrics
	recent  *recentProbes
	// sockets are the STUN probes' UDP sockets kept between scrapes, so a
	// server probed every few seconds sees one client, not one a probe.
	sockets *probes.UDPSockets

	mu       sync.Mutex
	closed   bool
	inFlight sync.WaitGroup
}

// state is what a config gives the exporter; a reload swaps it whole.
type state struct {
	modules map[string]*module
	names   []string
	// defaults is true when the modules are the built-in ones for the
	// embedded server.
	defaults bool
}

type module struct {
	*config.Module
	slots slots
}

var _ serve.Component = (*Exporter)(nil)

// New returns an exporter with no modules until its first Reload.
func New(opt Options) *Exporter {
	if opt.Catalog == nil {
		opt.Catalog = checks.Catalog()
	}
	if opt.MaxConcurrent <= 0 {
		opt.MaxConcurrent = 64
	}
	if opt.TimeoutOffset <= 0 {
		opt.TimeoutOffset = 500 * time.Millisecond
	}
	if opt.Recent <= 0 {
		opt.Recent = 100
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Exporter{opt: opt, log: opt.Logger, global: newSlots(opt.MaxConcurrent), metrics: newSelfMetrics(), recent: newRecentProbes(opt.Recent),
		sockets: probes.NewUDPSockets()}
	e.state.Store(&state{modules: map[string]*module{}})
	return e
}

// Routes mounts /probe, /status and the recent probes' debug pages as
// operator routes.
func (e *Exporter) Routes(r *serve.Router) {
	r.Operator("GET /probe", http.HandlerFunc(e.serveProbe))
	r.Operator("GET /status", http.HandlerFunc(e.serveStatus))
	r.Operator("GET /status/probes/{id}", http.HandlerFunc(e.serveRecent))
	e.metrics.register(r.Metrics())
}

// Reload takes the config's modules; without a config (or with one that
// defines none while serve runs its embedded server) the default modules
// probe the embedded server.
func (e *Exporter) Reload(cfg *config.Config) error {
	mods := map[string]*config.Module(nil)
	st := &state{modules: map[string]*module{}}
	switch {
	case cfg != nil && len(cfg.Modules) > 0:
		mods = cfg.Modules
	case e.opt.Embedded != nil:
		var err error
		if mods, err = DefaultModules(e.opt.Catalog, e.opt.Embedded); err != nil {
			return err
		}
		st.defaults = true
	}
	for name, m := range mods {
		// A module that cannot resolve (a profile selecting nothing) is
		// refused now, not at the first scrape.
		if _, err := checks.Resolve(e.opt.Catalog, m.Config(), m.Name); err != nil {
			return errors.New(m.Where + ": modules." + name + ": " + err.Error())
		}
		st.modules[name] = &module{Module: m, slots: newSlots(m.MaxConcurrent)}
		st.names = append(st.names, name)
	}
	sort.Strings(st.names)
	e.state.Store(st)
	e.metrics.modules.Set(float64(len(st.names)))
	return nil
}

// Close refuses new probes and waits for those in flight.
func (e *Exporter) Close(ctx context.Context) error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	done := make(chan struct{})
	go func() { e.inFlight.Wait(); close(done) }()
	defer e.sockets.Close()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return errors.New("exporter: probes still in flight when the drain ended")
	}
}

// begin registers a probe in flight; false once closing.
func (e *Exporter) begin() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.inFlight.Add(1)
	return true
}
