package serve

import (
	"context"
	"net/http"
	"time"
)

// Limits bound what one request and all requests together may take.
type Limits struct {
	// MaxInFlight is how many requests are served at once; more get 429
	// (health checks are not counted). Default 256.
	MaxInFlight int
	// MaxBodyBytes caps a request body. Default 1 MiB.
	MaxBodyBytes int64
	// MaxHeaderBytes caps the request line and headers. Default 16 KiB:
	// Prometheus sends a few hundred bytes, browsers a few KiB; it is what
	// each connection may hold, times MaxConns.
	MaxHeaderBytes int
	// MaxConns caps the connections open at once (default 1024); one
	// client address holds at most a sixteenth (at least 4). More are
	// accepted and closed at once.
	MaxConns int
	// RequestTimeout ends every request's context. Default 5 minutes.
	RequestTimeout time.Duration
	// ReadHeaderTimeout bounds reading the request headers. Default 10 s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes idle keep-alive connections. Default 2 minutes.
	IdleTimeout time.Duration
	// WriteStall is how long one write of a response may wait for the
	// client to take it (HTTP/1: room in the socket; HTTP/2: flow-control
	// window). Default 10 s.
	WriteStall time.Duration
	// BodyTimeout is how long a request may take to send its body
	// (MaxBodyBytes in it: a minimum rate). Default 10 s.
	BodyTimeout time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.MaxInFlight <= 0 {
		l.MaxInFlight = 256
	}
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = 1 << 20
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = 16 << 10
	}
	if l.MaxConns <= 0 {
		l.MaxConns = 1024
	}
	if l.RequestTimeout <= 0 {
		l.RequestTimeout = 5 * time.Minute
	}
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = 10 * time.Second
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = 2 * time.Minute
	}
	if l.WriteStall <= 0 {
		l.WriteStall = 10 * time.Second
	}
	if l.BodyTimeout <= 0 {
		l.BodyTimeout = 10 * time.Second
	}
	return l
}

// limit applies the web config's headers and rate limit, the class's
// access rule, the class's in-flight places (a fair share per client),
// the body cap, and the request deadline (the body's deadline is track's,
// for every route).
func (s *Server) limit(c Class, h http.Handler) http.Handler {
	places := s.slots[c]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wc := s.web.Load()
		for k, v := range wc.headers {
			w.Header().Set(k, v)
		}
		if l := wc.limiters[c]; l != nil && !l.Allow() {
			http.Error(w, "429 too many requests: the web config's rate_limit is reached", http.StatusTooManyRequests)
			return
		}
		if !s.authorize(c, w, r) {
			return
		}
		release, err := places.take(r.RemoteAddr)
		if err != nil {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "429 too many requests: "+err.Error(), http.StatusTooManyRequests)
			return
		}
		defer release()
		r.Body = http.MaxBytesReader(w, r.Body, s.limits.MaxBodyBytes)
		ctx, cancel := context.WithTimeout(r.Context(), s.limits.RequestTimeout)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}
