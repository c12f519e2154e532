// Package engine makes a run a library call: from a front end's input
// (config, profile, selection, its own option layer, servers) it builds a
// plan with the resources the selected checks need, runs it to a report,
// and closes what it started. The CLI, the exporter, the pre-call page and
// the tests all run checks through it, so they judge alike.
package engine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/internal/fanout"
	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/probes"
	"github.com/rtcprobe/rtcprobe/report"
)

// Input is what a front end hands over for one run.
type Input struct {
	// Catalog is the checks to choose from; nil means checks.Catalog().
	Catalog []*checks.Check
	// Config is a parsed config file; nil for none. ConfigPath names it in
	// the report.
	Config     *config.Config
	ConfigPath string
	// Profile names a profile; "" means the config's, else none.
	Profile string
	// Selection narrows what the profile and config select; empty keeps
	// all of it.
	Selection []config.Pattern
	// Options is the front end's own layer (the command line's flags, a
	// module's settings); it wins over the profile and the config.
	Options config.Layer
	// Servers are probed after the config's; a server named twice with
	// the same credentials is probed once.
	Servers []probes.Server
	// Signaling are the WebSocket signaling URLs to check.
	Signaling []*url.URL
	// WHIP and WHEP are media server endpoints to check; they replace the
	// config's.
	WHIP, WHEP *probes.Endpoint
	// TLS is the trust for stuns:, turns: and wss:; nil means the system's
	// roots. The embedded server's certificate is added to it, never
	// instead of it.
	TLS *tls.Config
	// Version is the tool's version, for the report.
	Version string
	// Now is the clock each use of the run starts by (TURN REST
	// credentials are minted from it, see Use); nil means time.Now.
	Now func() time.Time
	// Module, when set, is what the run does (rtcprobe serve's /probe):
	// its checks, options and thresholds, resolved as a profile of its
	// own, against Servers and Signaling only. Config, Profile and the
	// config's servers do not apply.
	Module *config.Module
	// External: the measurements are taken elsewhere (a user's browser on
	// the pre-call page) and judged with Run.Judge, so nothing is started:
	// no browser, no embedded server of the run's own.
	External bool
	// Words is how the front end names options the results refer to
	// ({option:KEY}): flags on the command line, keys in a module; nil on
	// the pre-call page, whose users set nothing.
	Words config.Words
	// Embedded is an embedded server the front end keeps running: a run
	// with nothing named to probe probes it instead of starting its own,
	// every run trusts its certificate, and Close leaves it running.
	Embedded *iceserver.Server
	// Sockets keeps UDP sockets between the runs of a front end that
	// probes the same servers again and again (the exporter); nil: each
	// probe dials afresh.
	Sockets *probes.UDPSockets
}

// Run is a prepared run: its plan and the resources it started.
type Run struct {
	Plan     *checks.Plan
	Resolved *checks.Resolved
	// Embedded is the embedded STUN/TURN server when the run probes it.
	Embedded *iceserver.Server
	// ownEmbedded is true when the run started Embedded (and closes it).
	ownEmbedded bool
	// Fanout is the embedded WHIP/WHEP fan-out server the broadcast check
	// probes when no media server is named; the run closes it.
	Fanout *fanout.Server
	in     Input
}

// NothingToRunError is a selection that gives no check a subject: each
// selected check and what it would need.
type NothingToRunError struct {
	Unmet []*checks.Check
}

func (e *NothingToRunError) Error() string {
	var b strings.Builder
	b.WriteString("nothing to check: ")
	seen := map[string]bool{}
	var parts []string
	for _, c := range e.Unmet {
		if seen[c.Needs] {
			continue
		}
		seen[c.Needs] = true
		var ids []string
		for _, o := range e.Unmet {
			if o.Needs == c.Needs {
				ids = append(ids, o.ID)
			}
		}
		parts = append(parts, fmt.Sprintf("%s need%s %s", strings.Join(ids, ", "), map[bool]string{true: "s", false: ""}[len(ids) == 1], c.Needs))
	}
	b.WriteString(strings.Join(parts, "; "))
	return b.String()
}

// SelectionError is a selection that has no check in common with what
// the profile or config selects.
type SelectionError struct {
	Selection []config.Pattern
}

func (e *SelectionError) Error() string {
	return fmt.Sprintf("no check selected: %s and the profile or config have none in common (see `rtcprobe list`)", joinPatterns(e.Selection))
}

// StartError is a resource of the run's own that would not start (the
// embedded server): rtcprobe's fault, not the input's.
type StartError struct{ Err error }

func (e *StartError) Error() string { return e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

// Prepare resolves the input into a plan and starts what the selected
// checks need: the embedded server when nothing is named to probe, a
// browser session (started on first use) when a browser check is
// selected. Errors other than *StartError are the input's.
func Prepare(in Input) (*Run, error) {
	rs, err := Resolve(in)
	if err != nil {
		return nil, err
	}
	res, settings, selected := rs.Resolved, rs.Settings, rs.Checks
	cfg := in.Config
	if in.Module != nil {
		cfg = in.Module.Config()
	}
	timeoutSet := in.Options.Sets("timeout")
	for _, l := range res.Layers {
		timeoutSet = timeoutSet || l.Sets("timeout")
	}
	settings.Timeout = settings.RunTimeout(checks.Entries(selected), timeoutSet)
	plan := &checks.Plan{
		Checks:        selected,
		Settings:      settings,
		Thresholds:    res.Thresholds,
		TLS:           in.TLS,
		SignalingURLs: in.Signaling,
		// A module names its checks: stun_tcp asks for TCP.
		ChecksAsked: in.Module != nil,
		Sockets:     in.Sockets,
	}
	if m := in.Module; m != nil {
		// Addresses a server names are held to the module's allow-list too.
		plan.Allowed = func(e config.TargetParts) bool { _, ok := m.Allows(e); return ok }
	}
	if cfg != nil {
		plan.Servers = append(plan.Servers, cfg.Servers...)
		plan.WHIP, plan.WHEP = cfg.WHIP, cfg.WHEP
	}
	if in.WHIP != nil || in.WHEP != nil {
		plan.WHIP, plan.WHEP = in.WHIP, in.WHEP
	}
	plan.Servers = dedupe(append(plan.Servers, in.Servers...))
	r := &Run{Plan: plan, Resolved: res, in: in}
	if in.Embedded != nil {
		r.Embedded = in.Embedded
		plan.TLS = trustEmbedded(in.TLS, in.Embedded)
	}
	if plan.WHIP == nil && plan.WHEP == nil && selectsGroup(selected, "broadcast") {
		if err := r.useFanout(); err != nil {
			return nil, err
		}
	}
	if len(plan.Servers) == 0 && len(plan.SignalingURLs) == 0 && plan.WHIP == nil && plan.WHEP == nil && needsServers(plan) && !in.External {
		if err := r.useEmbedded(); err != nil {
			r.Close()
			return nil, err
		}
	}
	for _, c := range selected {
		// Measurements taken elsewhere (the pre-call page) need no browser here.
		if (c.Group() == "browser" || c.Group() == "interop") && !in.External {
			for _, spec := range settings.BrowserList() {
				plan.Browsers = append(plan.Browsers, browser.NewSession(browser.Config{Path: spec, Media: settings.Media,
					Headful: settings.Headful, TrustedCerts: r.browserTrusts()}))
			}
			break
		}
	}
	if len(plan.Jobs()) == 0 {
		r.Close()
		return nil, &NothingToRunError{Unmet: selected}
	}
	if !timeoutSet {
		plan.Settings.Timeout += plan.OptInAloneTime()
	}
	return r, nil
}

// needsServers reports whether a selected check would have no subject
// without servers: the run then probes the embedded server.
func needsServers(p *checks.Plan) bool {
	for _, c := range p.Checks {
		if len(c.Subjects(p)) == 0 {
			return true
		}
	}
	return false
}

// selectsGroup reports whether a check of group g is selected.
func selectsGroup(cs []*checks.Check, g string) bool {
	for _, c := range cs {
		if c.Group() == g {
			return true
		}
	}
	return false
}

// useFanout starts the embedded fan-out server for the broadcast check.
// With turn: servers named, the server's peers relay through them, so
// the broadcast measures what those TURN servers carry. The server lives
// as long as the run (every iteration of a soak), so each of its
// sessions is a use of its own: credentials minted as it starts, lasting
// as long as a run may.
func (r *Run) useFanout() error {
	var relays []probes.Server
	var via []string
	for _, s := range r.Plan.Servers {
		if s.IsTURN() && s.URI.Scheme == stun.SchemeTypeTURN {
			relays = append(relays, s)
			via = append(via, s.String())
		}
	}
	cfg := fanout.Config{Relay: len(relays) > 0}
	if cfg.Relay {
		cfg.SessionICEServers = func() []webrtc.ICEServer {
			start := r.now()
			out := make([]webrtc.ICEServer, len(relays))
			for i, s := range relays {
				out[i] = probes.ICEServer(Minted(s, start, r.Plan.Settings.Timeout, ""), s.Transports()[0])
			}
			return out
		}
	}
	srv, err := fanout.Start(cfg)
	if err != nil {
		return &StartError{Err: err}
	}
	r.Fanout = srv
	r.Plan.BroadcastWHIP = &probes.Endpoint{URL: srv.WHIP("rtcprobe")}
	r.Plan.BroadcastWHEP = &probes.Endpoint{URL: srv.WHEP("rtcprobe")}
	r.Plan.BroadcastVia = strings.Join(via, ", ")
	return nil
}

// useEmbedded points the plan at the front end's embedded server, or
// starts one for the run; its throw-away certificate is trusted besides
// the input's trust.
func (r *Run) useEmbedded() error {
	srv := r.in.Embedded
	if srv == nil {
		var err error
		if srv, err = iceserver.Start(iceserver.Config{}); err != nil {
			return &StartError{Err: err}
		}
		r.ownEmbedded = true
	}
	r.Embedded = srv
	r.Plan.Servers = srv.Servers()
	r.Plan.NATServers = srv.NATServers()
	r.Plan.TLS = trustAlso(r.in.TLS, srv.Certificate())
	return nil
}

// browserTrusts are the certificates the browser trusts besides the
// system's roots: the embedded server's, as the probes do. A CA file or
// skipped verification cannot be handed to the browser; the browser
// checks skip the servers that need them.
func (r *Run) browserTrusts() []*x509.Certificate {
	if r.Embedded == nil {
		return nil
	}
	return []*x509.Certificate{r.Embedded.Certificate()}
}

// embeddedTrust caches, per long-running embedded server, the system's
// roots plus its certificate: cloning the system pool for every probe of
// rtcprobe serve would cost more than the probe.
var embeddedTrust sync.Map // *iceserver.Server → *tls.Config

// trustEmbedded is trustAlso for a front end's embedded server, cached
// when the base trust is the system's.
func trustEmbedded(base *tls.Config, srv *iceserver.Server) *tls.Config {
	if base != nil {
		return trustAlso(base, srv.Certificate())
	}
	if c, ok := embeddedTrust.Load(srv); ok {
		return c.(*tls.Config)
	}
	c, _ := embeddedTrust.LoadOrStore(srv, trustAlso(nil, srv.Certificate()))
	return c.(*tls.Config)
}

// trustAlso returns base with cert trusted too.
func trustAlso(base *tls.Config, cert *x509.Certificate) *tls.Config {
	out := &tls.Config{MinVersion: tls.VersionTLS12}
	if base != nil {
		out = base.Clone()
	}
	if out.InsecureSkipVerify {
		return out
	}
	switch {
	case out.RootCAs != nil:
		out.RootCAs = out.RootCAs.Clone()
	default:
		sys, err := x509.SystemCertPool()
		if err != nil {
			sys = x509.NewCertPool()
		}
		out.RootCAs = sys
	}
	out.RootCAs.AddCert(cert)
	return out
}

// Total is the number of results the run will produce (for progress).
func (r *Run) Total() int { return len(r.Plan.Jobs()) }

// Execute runs the plan and returns its report. TURN REST credentials are
// minted now, for this run. onResult, when set, sees each result as it
// completes.
func (r *Run) Execute(ctx context.Context, onResult func(checks.Result)) report.Report {
	now := r.now()
	// Credentials last as long as the run may.
	plan := r.Use(now, r.Plan.Settings.Timeout, "")
	// Each execution measures afresh.
	plan.Memo = checks.NewMemo(checks.CallSlots())
	started := time.Now()
	say := onResult
	if onResult != nil {
		say = func(res checks.Result) {
			r.in.Words.Result(&res)
			onResult(res)
		}
	}
	results := checks.Run(ctx, plan, say)
	rep := r.report(results, now, time.Since(started), r.environment(results))
	rep.Interrupted = errors.Is(ctx.Err(), context.Canceled)
	return rep
}

// Judge judges measurements taken elsewhere (Input.External) with the
// run's plan, as Execute judges its own, and returns the report. env says
// where they were taken (the user's browser and OS); the run's profile
// and config are added to it.
func (r *Run) Judge(ms []checks.Measured, started time.Time, took time.Duration, env report.Environment) report.Report {
	results := checks.Judge(r.Plan, ms)
	own := r.environment(nil)
	env.Profile, env.Config = own.Profile, own.Config
	return r.report(results, started, took, env)
}

func (r *Run) report(results []result.Result, started time.Time, took time.Duration, env report.Environment) report.Report {
	for i := range results {
		r.in.Words.Result(&results[i])
	}
	rep := report.Report{
		Version:     r.in.Version,
		StartedAt:   started,
		Duration:    took,
		Results:     results,
		FailOn:      r.Plan.Settings.FailOn,
		Environment: env,
	}
	for _, s := range r.Plan.Servers {
		rep.Servers = append(rep.Servers, s.String())
	}
	return rep
}

// LogStats sends both peers' full stats, every second, to w. It is set
// on a prepared run, not in Input: the CLI opens its output files only
// once Prepare has found the input good, so a usage error truncates none.
func (r *Run) LogStats(w io.Writer) { r.Plan.Stats = probes.NewStatsLog(w) }

// StatsErr is the first error writing the stats sink, if any.
func (r *Run) StatsErr() error { return r.Plan.Stats.Err() }

// Close ends what the run started: the browser and the embedded server.
func (r *Run) Close() {
	for _, b := range r.Plan.Browsers {
		_ = b.Close()
	}
	if r.ownEmbedded {
		_ = r.Embedded.Close()
	}
	if r.Fanout != nil {
		_ = r.Fanout.Close()
	}
}

// environment describes the run for the reports (no secrets).
func (r *Run) environment(results []result.Result) report.Environment {
	env := report.Environment{OS: osDescription(), GoVersion: runtime.Version(), Config: r.in.ConfigPath}
	if r.Resolved.Profile != nil {
		env.Profile = r.Resolved.Profile.Name
	}
	// The browsers the run drove, by product and version.
	var labels []string
	for _, b := range r.Plan.Browsers {
		labels = append(labels, b.Label())
	}
	env.Browser = strings.Join(labels, ", ")
	// A browser check records the version it drove as evidence.
	for _, res := range results {
		for _, e := range res.Evidence {
			if e.Name == "browser_version" && env.Browser == "" {
				env.Browser = e.Value
			}
		}
	}
	return env
}

// osDescription is read once: it does not change while the process runs.
var osDescription = sync.OnceValue(func() string {
	out := runtime.GOOS
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		out += " " + strings.TrimSpace(string(b))
	}
	return out + " (" + runtime.GOARCH + ")"
})

// dedupe drops a server named twice with the same credentials (in the
// config and by the front end): probing it twice tells nothing new.
func dedupe(servers []probes.Server) []probes.Server {
	type key struct {
		uri, user, password string
		rest                probes.RESTSecret
	}
	seen := map[key]bool{}
	var out []probes.Server
	for _, s := range servers {
		k := key{uri: s.String(), user: s.Username, password: s.Password}
		if s.REST != nil {
			k.rest = *s.REST
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}

func intersect(a, b []*checks.Check) []*checks.Check {
	in := map[string]bool{}
	for _, c := range b {
		in[c.ID] = true
	}
	var out []*checks.Check
	for _, c := range a {
		if in[c.ID] {
			out = append(out, c)
		}
	}
	return out
}

func joinPatterns(ps []config.Pattern) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return strings.Join(out, ",")
}
