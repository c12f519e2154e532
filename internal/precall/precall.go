// Package precall is rtcprobe serve's hosted pre-call check: the page an
// operator sends users (at /), which runs rtcprobe's browser checks in
// the user's own browser against the operator's STUN/TURN servers and
// calls a pion peer inside the server; the session API the page speaks;
// judging what the page posts with the same checks and thresholds as the
// CLI; and, for the operator, /admin and /api/v1/results over the stored
// reports.
package precall

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/internal/engine"
	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/serve"
	"github.com/rtcprobe/rtcprobe/internal/store"
	"github.com/rtcprobe/rtcprobe/probes"
)

// Options configure the pre-call component.
type Options struct {
	// Catalog is the checks to choose from; nil means checks.Catalog().
	Catalog []*checks.Check
	// Store keeps the results; required.
	Store store.Store
	// Embedded is the server the page tests when the config names none.
	Embedded *iceserver.Server
	// TLS is the trust the pion peer dials TURN over TLS with.
	TLS *tls.Config
	// Retention, when set, deletes older results (it wins over the
	// config's precall.retention).
	Retention time.Duration
	// SessionTTL bounds a page run from its session to its result
	// (default 3 minutes); TURN credentials minted for a session expire
	// with it (at least 5 minutes, for the relays it allocates).
	SessionTTL time.Duration
	// MaxSessions caps sessions in progress at once (default 100), and
	// MaxSessionsPerAddress and MaxSessionsPerNetwork those of one client
	// address and one client network (default: shares of MaxSessions,
	// config.SessionLimits.Resolved); the config's precall section wins.
	MaxSessions, MaxSessionsPerAddress, MaxSessionsPerNetwork int
	// SessionsPerMinute is how many sessions one client address may
	// start per minute (default 10).
	SessionsPerMinute int
	Logger            *slog.Logger
	Version           string
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Precall is the pre-call component.
type Precall struct {
	opt      Options
	log      *slog.Logger
	state    atomic.Pointer[state]
	sessions *sessions
	limiter  *addrLimiter
	// quota caps the results a client stores an hour (quota.go).
	quota *resultQuota
	// health is whether the store can take results (/-/ready).
	health  *storeHealth
	metrics *metrics
	// readBudget and parseBudget bound the heap of posted results (api.go).
	readBudget, parseBudget *semaphore.Weighted
	budgetWait              time.Duration
	stop                    chan struct{}
	// poke makes housekeeping run now (a reload may bring a retention).
	poke    chan struct{}
	done    sync.WaitGroup
	closeMu sync.Mutex
	closed  bool
}

// state is what one config gives the page; a reload swaps it whole.
type state struct {
	disabled bool
	// run holds the plan: checks, thresholds and servers as the CLI
	// would resolve them, measured elsewhere (engine.Input.External).
	run *engine.Run
	// fullAddress keeps clients' whole addresses.
	fullAddress bool
	// origin refuses the session API to pages of other sites.
	origin    *http.CrossOriginProtection
	retention time.Duration
	// peerNetworks and peerAddresses are precall.peer_allowed_networks
	// and precall.peer_addresses (candidates.go).
	peerNetworks  []netip.Prefix
	peerAddresses []netip.Addr
}

// candidatePolicy is where st lets the server's peer send checks: public
// addresses, the networks the operator allows, and the embedded TURN
// server's own relays.
func (p *Precall) candidatePolicy(st *state) candidatePolicy {
	cp := candidatePolicy{allowed: st.peerNetworks}
	if p.opt.Embedded != nil {
		cp.relay = p.opt.Embedded.IsRelay
	}
	return cp
}

var _ serve.Component = (*Precall)(nil)

// New returns the component; it serves once Reload gave it a config.
func New(opt Options) (*Precall, error) {
	if opt.Store == nil {
		return nil, errors.New("precall: no store")
	}
	if opt.Catalog == nil {
		opt.Catalog = checks.Catalog()
	}
	if opt.SessionTTL <= 0 {
		opt.SessionTTL = 3 * time.Minute
	}
	opt.MaxSessions, opt.MaxSessionsPerAddress, opt.MaxSessionsPerNetwork = max(0, opt.MaxSessions), max(0, opt.MaxSessionsPerAddress), max(0, opt.MaxSessionsPerNetwork)
	if opt.SessionsPerMinute <= 0 {
		opt.SessionsPerMinute = 10
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	p := &Precall{opt: opt, log: opt.Logger, limiter: newAddrLimiter(opt.SessionsPerMinute), metrics: newMetrics(), stop: make(chan struct{}), poke: make(chan struct{}, 1)}
	p.sessions = newSessions(config.SessionLimits{}.Resolved(p.sessionDefaults()), opt.Now)
	p.quota = newResultQuota(defaultResultsPerHour)
	p.health = &storeHealth{st: opt.Store}
	p.readBudget, p.parseBudget = semaphore.NewWeighted(readBudget), semaphore.NewWeighted(parseBudget)
	p.budgetWait = budgetWait
	p.state.Store(&state{disabled: true})
	p.done.Add(1)
	go p.housekeeping()
	return p, nil
}

// Routes mounts the page and its API (public), the admin pages and the
// results API (admin).
func (p *Precall) Routes(r *serve.Router) {
	r.Public("GET /{$}", http.HandlerFunc(p.servePage))
	r.Public("GET /precall/{file}", http.HandlerFunc(p.serveAsset))
	r.Public("POST /api/precall/session", http.HandlerFunc(p.serveSession))
	r.Public("POST /api/precall/signal/{task}", http.HandlerFunc(p.serveSignal))
	r.Public("POST /api/precall/result", http.HandlerFunc(p.serveResult))
	r.Public("GET /r/{id}", http.HandlerFunc(p.serveUserReport))
	r.Admin("GET /admin", http.HandlerFunc(p.serveAdmin))
	r.Admin("GET /admin/results/{id}", http.HandlerFunc(p.serveAdminResult))
	r.Admin("GET /admin/export", http.HandlerFunc(p.serveExport))
	r.Admin("GET /api/v1/results", http.HandlerFunc(p.serveAPIList))
	r.Admin("GET /api/v1/results/{id}", http.HandlerFunc(p.serveAPIResult))
	p.metrics.register(r.Metrics(), p.sessions.inProgress, p.health.writable)
}

// sessionDefaults are the caps on sessions the options set.
func (p *Precall) sessionDefaults() config.SessionLimits {
	return config.SessionLimits{Max: p.opt.MaxSessions, PerAddress: p.opt.MaxSessionsPerAddress, PerNetwork: p.opt.MaxSessionsPerNetwork}
}

// defaultResultsPerHour is precall.results_per_hour when the config does
// not say: a few runs a minute from one address, for an hour.
const defaultResultsPerHour = 60

// credentialTTL is how long TURN credentials minted for a session last:
// past the session's end, because relays it allocated are refreshed
// with them while a call is up.
func (p *Precall) credentialTTL() time.Duration { return max(5*time.Minute, p.opt.SessionTTL) }

// Reload resolves the page's plan from a config (nil: no config): the
// precall section's servers, else the config's, else the embedded
// server's; its profile (default precall), narrowed to the checks a page
// can run.
func (p *Precall) Reload(cfg *config.Config) error {
	var pc config.Precall
	if cfg != nil && cfg.Precall != nil {
		pc = *cfg.Precall
	}
	retention := pc.Retention
	if p.opt.Retention > 0 {
		retention = p.opt.Retention
	}
	perHour := pc.ResultsPerHour
	if perHour == 0 {
		perHour = defaultResultsPerHour
	}
	// The retention is the store's, not the page's: results written while
	// the page was on still expire after it is turned off.
	if pc.Disabled {
		p.setState(&state{disabled: true, retention: retention})
		return nil
	}
	where := "precall"
	if pc.Where != "" {
		where = pc.Where + ": precall"
	}
	var servers []probes.Server
	var own *config.Config
	if cfg != nil {
		c := *cfg
		servers, c.Servers = cfg.Servers, nil
		own = &c
	}
	if pc.Servers != nil {
		servers = pc.Servers
	}
	if len(servers) == 0 && p.opt.Embedded != nil {
		servers = p.opt.Embedded.RESTServers(p.credentialTTL())
	}
	servers = p.pageServers(servers)
	profile := pc.Profile
	if profile == "" {
		profile = "precall"
	}
	var remote []config.Pattern
	for _, c := range p.opt.Catalog {
		if c.Remote != nil {
			remote = append(remote, config.Pattern(c.ID))
		}
	}
	run, err := engine.Prepare(engine.Input{Catalog: p.opt.Catalog, Config: own, Profile: profile, Selection: remote,
		Servers: servers, TLS: p.opt.TLS, Embedded: p.opt.Embedded, External: true, Version: p.opt.Version})
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if n := len(run.Plan.Jobs()); n > maxTasks {
		return fmt.Errorf("%s: the page would run %d checks, more than %d: name fewer servers", where, n, maxTasks)
	}
	origin := http.NewCrossOriginProtection()
	for _, o := range pc.Origins {
		if err := origin.AddTrustedOrigin(o); err != nil {
			return fmt.Errorf("%s: origins: %w", where, err)
		}
	}
	p.sessions.setLimits(pc.Sessions.Resolved(p.sessionDefaults()))
	p.setState(&state{run: run, fullAddress: pc.FullClientAddress, retention: retention, origin: origin,
		peerNetworks: pc.PeerAllowedNetworks, peerAddresses: pc.PeerAddresses})
	p.quota.setPerHour(perHour)
	return nil
}

// pageServers are the servers the page may hand to browsers, on a copy
// (the config is shared with the other components): a static credential
// goes to every visitor, so a server with one is left out unless the
// operator marked it public_credential (the config refuses one in
// precall.servers; the top-level servers' are the CLI's and the
// exporter's). Credentials minted per session live as long as it.
func (p *Precall) pageServers(servers []probes.Server) []probes.Server {
	var out []probes.Server
	for _, s := range servers {
		if s.Static() && !s.PublicCredential {
			p.log.Warn("pre-call: a server with a static credential is left out of the page, which would hand it to every visitor "+
				"(give it a secret, or public_credential: true)", "server", s.String())
			continue
		}
		if s.REST != nil {
			r := *s.REST
			r.TTL = min(r.TTL, p.credentialTTL())
			s.REST = &r
		}
		out = append(out, s)
	}
	return out
}

// setState puts a new state in force and wakes housekeeping, which may
// have a retention to apply now.
func (p *Precall) setState(st *state) {
	p.state.Store(st)
	select {
	case p.poke <- struct{}{}:
	default:
	}
}

// Close refuses new sessions, ends the calls in progress and stops the
// retention loop; the store is the caller's to close.
func (p *Precall) Close(ctx context.Context) error {
	p.closeMu.Lock()
	if !p.closed {
		p.closed = true
		close(p.stop)
	}
	p.closeMu.Unlock()
	p.sessions.closeAll()
	done := make(chan struct{})
	go func() { p.done.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return errors.New("precall: still busy when the drain ended")
	}
}

// housekeeping ends expired sessions and applies the retention.
func (p *Precall) housekeeping() {
	defer p.done.Done()
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	var lastPurge time.Time
	for {
		p.sessions.expire()
		if st := p.state.Load(); st.retention > 0 && p.opt.Now().Sub(lastPurge) >= min(time.Hour, st.retention/10) {
			lastPurge = p.opt.Now()
			p.purge(st.retention)
		}
		select {
		case <-p.stop:
			return
		case <-tick.C:
		case <-p.poke:
		}
	}
}

// purge deletes the results older than the retention.
func (p *Precall) purge(retention time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := p.opt.Store.DeleteBefore(ctx, p.opt.Now().Add(-retention))
	if err != nil {
		p.log.Error("retention: deleting old results failed", "err", err)
		return
	}
	if n > 0 {
		p.log.Info("retention: deleted old results", "count", n, "older_than", retention)
	}
}
