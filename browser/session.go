package browser

import (
	"context"
	"crypto/x509"
	"path/filepath"
	"sync"
	"time"
)

// Session starts one browser on first use and shares it between all the
// checks of a run; Close ends it however far the start got. A run that
// selects no browser check never starts a browser. A run with several
// browsers has a session each.
type Session struct {
	cfg Config

	// What Config.Path names, resolved once (Locate) in the background
	// from NewSession on: the binary, its engine and its self-description.
	identified chan struct{}
	path       string
	engine     Engine
	label      string
	findErr    error

	once   sync.Once
	ready  chan struct{} // closed when the start finished, either way
	b      *Browser
	err    error
	ctx    context.Context // cancelled by Close, so a start in progress stops
	cancel context.CancelFunc
}

// NewSession prepares a browser session for cfg.Path as --browser names
// it ("chromium", "firefox", a path, or "" for the default); nothing
// starts yet but a look for the binary and its version.
func NewSession(cfg Config) *Session {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Session{cfg: cfg, identified: make(chan struct{}), ready: make(chan struct{}), ctx: ctx, cancel: cancel}
	go s.identify()
	return s
}

func (s *Session) identify() {
	defer close(s.identified)
	s.path, s.engine, s.findErr = Locate(s.cfg.Path)
	if s.cfg.Engine != "" {
		s.engine = s.cfg.Engine
	}
	switch {
	case s.findErr != nil && s.cfg.Path != "":
		s.label = s.cfg.Path
	case s.findErr != nil:
		s.label = "Chrome/Chromium"
	default:
		if s.label = ProductOf(s.path); s.label == "" {
			s.label = filepath.Base(s.path)
		}
	}
}

// Label names the browser for reports: its product and version
// ("Chromium 156.0.8078.108", "Firefox 153.8.0esr"), or what was asked
// for when it is not there.
func (s *Session) Label() string {
	<-s.identified
	return s.label
}

// Engine is the session's browser engine.
func (s *Session) Engine() Engine {
	<-s.identified
	return s.engine
}

// Get returns the running browser, starting it on the first call. The
// start is not bound to ctx (other checks wait for the same browser), but
// this caller stops waiting when ctx ends.
func (s *Session) Get(ctx context.Context) (*Browser, error) {
	start := time.Now()
	s.once.Do(func() {
		go func() {
			defer close(s.ready)
			<-s.identified
			if s.err = s.findErr; s.err != nil {
				return
			}
			cfg := s.cfg
			cfg.Path, cfg.Engine = s.path, s.engine
			s.b, s.err = Launch(s.ctx, cfg)
		}()
	})
	select {
	case <-s.ready:
		return s.b, s.err
	case <-ctx.Done():
		return nil, &StepTimeoutError{Stage: "browser start", After: time.Since(start)}
	}
}

// Trusts reports whether the session's browser trusts exactly the
// certificates in roots (see Config.Trusts). A nil session trusts nothing.
func (s *Session) Trusts(roots *x509.CertPool) bool {
	if s == nil {
		return false
	}
	cfg := s.cfg
	cfg.Engine = s.Engine()
	return cfg.Trusts(roots)
}

// Close stops the browser (if it started) and waits until it is gone. A
// nil session has nothing to close.
func (s *Session) Close() error {
	if s == nil {
		return nil
	}
	s.cancel()
	s.once.Do(func() { close(s.ready) }) // never started: nothing to wait for
	<-s.ready
	<-s.identified
	if s.b != nil {
		return s.b.Close()
	}
	return nil
}
