package browser

import (
	"context"
	"crypto/x509"
	"sync"
	"time"
)

// Session starts one browser on first use and shares it between all the
// checks of a run; Close ends it however far the start got. A run that
// selects no browser check never starts a browser.
type Session struct {
	cfg Config

	once   sync.Once
	ready  chan struct{} // closed when the start finished, either way
	b      *Browser
	err    error
	ctx    context.Context // cancelled by Close, so a start in progress stops
	cancel context.CancelFunc
}

// NewSession prepares a browser session; nothing starts yet.
func NewSession(cfg Config) *Session {
	ctx, cancel := context.WithCancel(context.Background())
	return &Session{cfg: cfg, ready: make(chan struct{}), ctx: ctx, cancel: cancel}
}

// Get returns the running browser, starting it on the first call. The
// start is not bound to ctx (other checks wait for the same browser), but
// this caller stops waiting when ctx ends.
func (s *Session) Get(ctx context.Context) (*Browser, error) {
	start := time.Now()
	s.once.Do(func() {
		go func() {
			defer close(s.ready)
			cfg := s.cfg
			if cfg.Path, s.err = Find(cfg.Path); s.err != nil {
				return
			}
			s.b, s.err = Launch(s.ctx, cfg)
		}()
	})
	select {
	case <-s.ready:
		return s.b, s.err
	case <-ctx.Done():
		return nil, &TimeoutError{Stage: "browser start", After: time.Since(start)}
	}
}

// Trusts reports whether the session's browser trusts exactly the
// certificates in roots (see Config.Trusts). A nil session trusts nothing.
func (s *Session) Trusts(roots *x509.CertPool) bool {
	return s != nil && s.cfg.Trusts(roots)
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
	if s.b != nil {
		return s.b.Close()
	}
	return nil
}
