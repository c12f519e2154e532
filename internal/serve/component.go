package serve

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rtcprobe/rtcprobe/checks/config"
)

// Component is one part of the server (the exporter, the pre-call page).
// The server calls Routes once before serving, Reload with every new valid
// config (the first one before serving starts), and Close when it drains.
type Component interface {
	// Routes declares the component's routes, each in its class.
	Routes(r *Router)
	// Reload hands over a new config (nil when serve runs without one). A
	// component that refuses it returns why and keeps the config it had.
	Reload(cfg *config.Config) error
	// Close drains what is in flight (probes, sessions), then releases
	// what the component holds (peers, databases). It returns when done or
	// when ctx ends.
	Close(ctx context.Context) error
}

// Readiness is a component whose readiness /-/ready reports besides the
// server's: Ready says why it cannot serve now (nil when it can). It is
// called on every probe, so it answers from a cache or quickly.
type Readiness interface {
	Ready(ctx context.Context) error
}

// Class is who may call a route.
type Class int

// Route classes.
const (
	// Public routes are open to anyone: the pre-call page, its assets and
	// its session API.
	Public Class = iota
	// Operator routes are Prometheus' (/probe, /metrics, /status,
	// /-/reload): basic auth from the web config when it has users, else
	// open.
	Operator
	// Admin routes (/admin, /api/v1/…) need the web config's basic auth
	// or the admin bearer token; with neither configured they are closed.
	Admin
)

func (c Class) String() string {
	switch c {
	case Public:
		return "public"
	case Operator:
		return "operator"
	case Admin:
		return "admin"
	}
	return "unknown"
}

// Route is one declared route.
type Route struct {
	Class   Class
	Pattern string // a net/http ServeMux pattern: "GET /probe", "/static/"
	Handler http.Handler
}

// Router collects the routes of the components; the server mounts them
// behind their class's checks.
type Router struct {
	routes  []Route
	metrics prometheus.Registerer
}

// Public adds a route anyone may call.
func (r *Router) Public(pattern string, h http.Handler) { r.add(Public, pattern, h) }

// Operator adds a route for Prometheus and operators.
func (r *Router) Operator(pattern string, h http.Handler) { r.add(Operator, pattern, h) }

// Admin adds a route for administrators.
func (r *Router) Admin(pattern string, h http.Handler) { r.add(Admin, pattern, h) }

// Metrics is where a component registers its own metrics; the server
// exposes them on /metrics with its own.
func (r *Router) Metrics() prometheus.Registerer { return r.metrics }

func (r *Router) add(c Class, pattern string, h http.Handler) {
	r.routes = append(r.routes, Route{Class: c, Pattern: pattern, Handler: h})
}

// Routes lists what has been declared, in order.
func (r *Router) Routes() []Route { return r.routes }
