// Package serve is the HTTP server of `rtcprobe serve`: one listener for
// every component (the Prometheus exporter, the pre-call page), routes in
// three classes (public, operator, admin), Prometheus' web config for TLS
// and basic auth, request limits, health and readiness, config reload that
// keeps the old config when the new one is refused, and a graceful drain.
package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rtcprobe/rtcprobe/checks/config"
)

// Config is what the server needs besides its components.
type Config struct {
	// Addr is the address to listen on: "127.0.0.1:9781".
	Addr string
	// WebConfigFile is a Prometheus web config (TLS, basic auth, headers,
	// rate limit); "" serves plain HTTP without users.
	WebConfigFile string
	// AdminToken, when set, lets "Authorization: Bearer TOKEN" into the
	// admin routes.
	AdminToken string
	// LoadConfig reads the config for the start and every reload; nil
	// serves without a config (components get nil).
	LoadConfig func() (*config.Config, error)
	// Logger receives the server's log lines; nil discards them.
	Logger *slog.Logger
	Limits Limits
	// Version is the tool's version, for rtcprobe_build_info.
	Version string
}

// Server is a running (or ready to run) rtcprobe serve.
type Server struct {
	cfg        Config
	limits     Limits
	log        *slog.Logger
	components []Component
	handler    http.Handler
	http       *http.Server
	ln         net.Listener
	registry   *prometheus.Registry
	web        atomic.Pointer[webConfig]
	// conns are the open connections, for the drain.
	conns *conns
	// connLimit caps the connections (set by Listen).
	connLimit atomic.Pointer[connLimiter]
	// slots are each route class's places for requests in flight.
	slots map[Class]*slots
	// bcrypt bounds the password checks of basic auth.
	bcrypt *bcryptGate
	ready  atomic.Bool
	// cancel ends the context of every request: the last resort of a
	// drain that ran out of time.
	cancel context.CancelFunc

	reloadMu   sync.Mutex
	current    *config.Config
	reloadOK   prometheus.Gauge
	reloadTime prometheus.Gauge
}

// New loads the web config and the config, hands the config to every
// component and mounts their routes. An error here is the input's (a bad
// config or web config) or two routes that collide.
func New(cfg Config, components ...Component) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, limits: cfg.Limits.withDefaults(), log: cfg.Logger, components: components, registry: prometheus.NewRegistry(), bcrypt: newBcryptGate(), conns: newConns()}
	// Prometheus' and the admin's routes have places of their own, a
	// quarter of the public page's each.
	side := max(8, s.limits.MaxInFlight/4)
	s.slots = map[Class]*slots{Public: newSlots(s.limits.MaxInFlight), Operator: newSlots(side), Admin: newSlots(side)}
	wc, err := loadWebConfig(cfg.WebConfigFile)
	if err != nil {
		return nil, err
	}
	s.web.Store(wc)
	if s.current, err = s.load(); err != nil {
		return nil, err
	}
	for _, c := range components {
		if err := c.Reload(s.current); err != nil {
			return nil, err
		}
	}
	s.registerMetrics()
	if s.handler, err = s.mount(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) load() (*config.Config, error) {
	if s.cfg.LoadConfig == nil {
		return nil, nil
	}
	return s.cfg.LoadConfig()
}

func (s *Server) registerMetrics() {
	s.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{Name: "rtcprobe_config_last_reload_successful",
		Help: "Whether the last configuration reload attempt was successful (1) or refused (0)."})
	s.reloadTime = prometheus.NewGauge(prometheus.GaugeOpts{Name: "rtcprobe_config_last_reload_success_timestamp_seconds",
		Help: "Timestamp of the last successful configuration load."})
	build := prometheus.NewGauge(prometheus.GaugeOpts{Name: "rtcprobe_build_info",
		Help:        "A metric with a constant '1' value labeled by the version and Go version rtcprobe was built with.",
		ConstLabels: prometheus.Labels{"version": s.cfg.Version, "goversion": runtime.Version()}})
	build.Set(1)
	s.reloadOK.Set(1)
	s.reloadTime.SetToCurrentTime()
	conns := func(pick func(open int, refused, taken int64) float64) func() float64 {
		return func() float64 {
			if cl := s.connLimit.Load(); cl != nil {
				return pick(cl.counts())
			}
			return 0
		}
	}
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		s.reloadOK, s.reloadTime, build,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rtcprobe_http_connections_open",
			Help: "Connections open to the server (at most the connection limit)."},
			conns(func(open int, _, _ int64) float64 { return float64(open) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "rtcprobe_http_connections_refused_total",
			Help: "Connections closed at once: over their address's share, or at the cap with every connection serving a request."},
			conns(func(_ int, refused, _ int64) float64 { return float64(refused) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "rtcprobe_http_connections_taken_total",
			Help: "Connections serving no request closed at the cap to make room for a new one (the oldest of the network holding the most)."},
			conns(func(_ int, _, taken int64) float64 { return float64(taken) })))
}

// mount builds the handler: the components' routes behind their class's
// guard, the server's own routes, and a placeholder at / when no
// component serves it.
func (s *Server) mount() (h http.Handler, err error) {
	r := &Router{metrics: s.registry}
	for _, c := range s.components {
		c.Routes(r)
	}
	r.Operator("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{ErrorLog: slogPrinter{s.log}}))
	r.Operator("POST /-/reload", http.HandlerFunc(s.serveReload))
	if !servesRoot(r.routes) {
		r.Public("GET /{$}", http.HandlerFunc(placeholder))
	}
	mux := http.NewServeMux()
	defer func() {
		// ServeMux panics on patterns that collide: a wiring mistake,
		// reported as an error.
		if v := recover(); v != nil {
			err = fmt.Errorf("routes: %v", v)
		}
	}()
	for _, rt := range r.routes {
		mux.Handle(rt.Pattern, s.limit(rt.Class, rt.Handler))
	}
	// Health and readiness are never limited or guarded: orchestrators
	// poll them.
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "rtcprobe is healthy.") })
	mux.HandleFunc("GET /-/ready", s.serveReady)
	return s.track(mux), nil
}

// servesRoot reports whether a route serves "/".
func servesRoot(routes []Route) bool {
	for _, rt := range routes {
		path := rt.Pattern
		if _, p, ok := strings.Cut(rt.Pattern, " "); ok {
			path = strings.TrimSpace(p)
		}
		if path == "/" || path == "/{$}" {
			return true
		}
	}
	return false
}

// Handler is the server's whole handler, for serving it elsewhere (tests).
func (s *Server) Handler() http.Handler { return s.handler }

// Registry is the registry /metrics exposes.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Listen binds the address (TLS when the web config has it); Serve then
// serves on it. Split so the caller can log the address bound to ":0".
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	// Under TLS: a handshake that never ends holds its place too.
	if a, ok := ln.Addr().(*net.TCPAddr); ok && !a.IP.IsLoopback() && !s.web.Load().hasUsers() {
		// Prometheus exporters are open by default; on an address others
		// reach, the operator should know.
		s.log.Warn("the operator routes (/metrics, /probe, /status, /-/reload) answer anyone who reaches this address: set basic_auth_users in the web config",
			"address", a.String())
	}
	cl := newConnLimiter(ln, s.limits.MaxConns, max(4, s.limits.MaxConns/16))
	s.connLimit.Store(cl)
	ln = cl
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.http = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.limits.ReadHeaderTimeout,
		IdleTimeout:       s.limits.IdleTimeout,
		MaxHeaderBytes:    s.limits.MaxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ConnContext:       s.conns.context,
		ConnState:         s.conns.state,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		// A stream is a request: its place in flight and its write
		// deadline bound it; this bounds the streams one connection
		// opens at once (the default is 250), and pings find the
		// connections whose peer went away.
		HTTP2: &http.HTTP2Config{MaxConcurrentStreams: 32, SendPingTimeout: 30 * time.Second, PingTimeout: 15 * time.Second,
			WriteByteTimeout: s.limits.WriteStall},
	}
	if wc := s.web.Load(); wc.tls != nil {
		if !wc.http2 {
			s.http.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
		}
		base := wc.tls.Clone()
		// Serve sets HTTP/2 up only when the listener's config names h2:
		// offering it per handshake alone made clients that took it get
		// the connection dropped.
		base.NextProtos = []string{"http/1.1"}
		if wc.http2 {
			base.NextProtos = []string{"h2", "http/1.1"}
		}
		// Each handshake uses the web config in force, so a reload can
		// change certificates and client-certificate rules.
		base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
			now := s.web.Load()
			c := now.tls.Clone()
			// HTTP/2 off by a reload is off from the next handshake (it
			// can be turned on only where it was on at the start:
			// Serve set it up then).
			c.NextProtos = []string{"http/1.1"}
			if wc.http2 && now.http2 {
				c.NextProtos = []string{"h2", "http/1.1"}
			}
			return c, nil
		}
		s.http.TLSConfig = base
		ln = tls.NewListener(ln, base)
	}
	s.ln = ln
	return nil
}

// Addr is the bound address (after Listen).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// TLS reports whether the listener serves TLS.
func (s *Server) TLS() bool { return s.web.Load().tls != nil }

// Serve serves until Shutdown; it returns nil after a graceful shutdown.
func (s *Server) Serve() error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.ready.Store(true)
	err := s.http.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown drains: readiness turns 503, the listener closes, requests in
// flight (probes, page sessions) finish, connections serving none are
// closed at once, then every component closes. When ctx ends first, what
// is still in flight is cancelled, and the error says what was waited
// for.
func (s *Server) Shutdown(ctx context.Context) error {
	s.ready.Store(false)
	var err error
	if s.http != nil {
		stop, swept := make(chan struct{}), make(chan struct{})
		go func() { s.conns.drainConns(stop); close(swept) }()
		herr := s.http.Shutdown(ctx)
		close(stop)
		<-swept
		if herr != nil {
			err = errors.Join(drainError(s.conns.count()), s.http.Close())
		}
		s.cancel()
	}
	// The components see their work end: after a drain that ran out of
	// time, the requests were just cancelled, so they get a moment to
	// unwind rather than a context already done (which made them report
	// work in flight that had none).
	cctx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeout(context.Background(), componentGrace)
		defer cancel()
	}
	for _, c := range s.components {
		err = errors.Join(err, c.Close(cctx))
	}
	return err
}

// componentGrace is the components' time to close after a drain that ran
// out of time.
const componentGrace = time.Second

// Reload reads the web config and the config again and hands the config
// to every component. Anything refused keeps the old configuration
// everywhere; the errors are logged (file:line each) and returned.
func (s *Server) Reload() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	err := s.reload()
	if err != nil {
		s.reloadOK.Set(0)
		s.log.Error("config reload refused; the old config stays in force")
		var ce config.Errors
		if errors.As(err, &ce) {
			for _, e := range ce {
				s.log.Error(e.Error())
			}
		} else {
			s.log.Error(err.Error())
		}
		return err
	}
	s.reloadOK.Set(1)
	s.reloadTime.SetToCurrentTime()
	s.log.Info("config reloaded")
	return nil
}

func (s *Server) reload() error {
	wc, err := loadWebConfig(s.cfg.WebConfigFile)
	if err != nil {
		return err
	}
	if (wc.tls != nil) != (s.web.Load().tls != nil) {
		return errors.New("web config: switching TLS on or off needs a restart")
	}
	cfg, err := s.load()
	if err != nil {
		return err
	}
	for i, c := range s.components {
		if err := c.Reload(cfg); err != nil {
			// Put back the old config where the new one was taken.
			for _, done := range s.components[:i] {
				_ = done.Reload(s.current)
			}
			return err
		}
	}
	s.current = cfg
	s.web.Store(wc)
	return nil
}

// sameOrigin refuses browser posts from other sites: a page the operator
// visits could otherwise post to /-/reload with the operator's basic auth
// cached in the browser. Clients that are not browsers (curl, scripts)
// send neither Sec-Fetch-Site nor Origin and pass.
var sameOrigin = http.NewCrossOriginProtection()

func (s *Server) serveReload(w http.ResponseWriter, r *http.Request) {
	if err := sameOrigin.Check(r); err != nil {
		s.log.Warn("config reload refused: cross-origin request", "origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		http.Error(w, "config reload refused: a cross-origin request (Origin or Sec-Fetch-Site is not this server's own); "+
			"post from this server's own pages, or without a browser", http.StatusForbidden)
		return
	}
	// The errors name files and lines of the configs: they go to the log,
	// not to whoever may post here.
	if err := s.Reload(); err != nil {
		http.Error(w, "config reload refused, the old config stays in force; the errors are in the server's log", http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "config reloaded")
}

func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		http.Error(w, "rtcprobe is not ready (starting or draining).", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	for _, c := range s.components {
		if rc, ok := c.(Readiness); ok {
			if err := rc.Ready(ctx); err != nil {
				http.Error(w, "rtcprobe is not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
	}
	fmt.Fprintln(w, "rtcprobe is ready.")
}

// readyTimeout bounds the components' readiness checks of one probe.
const readyTimeout = 3 * time.Second

// slogPrinter lets promhttp report errors to the server's log.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Error(fmt.Sprint(v...)) }
