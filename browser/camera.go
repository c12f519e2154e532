package browser

import (
	"context"
	"sync"
)

// The camera (and microphone) of one browser: the pages that capture
// share it, except browser.resolutions, which asks for exact sizes and
// needs it alone, unless the browser has a spare camera for it
// (Config.spareCamera). A tab takes the lock for its page unless the
// run's scheduler arranged the camera for the check (WithCameraHeld), so
// the wait does not count against the check's deadline.

type cameraHeldKey struct{}

// WithCameraHeld says, under the returned context, that the camera is
// taken for page by whoever runs it (the checks' scheduler, which knows
// every page of the run): a tab running that page does not take it again.
func WithCameraHeld(ctx context.Context, page string) context.Context {
	return context.WithValue(ctx, cameraHeldKey{}, page)
}

// cameraHeld reports whether the camera is held for page under ctx.
func cameraHeld(ctx context.Context, page string) bool {
	held, _ := ctx.Value(cameraHeldKey{}).(string)
	return held == page
}

// lockCamera takes l (exclusively or shared) unless ctx ends first.
func lockCamera(ctx context.Context, l *sync.RWMutex, exclusive bool) error {
	got := make(chan struct{})
	go func() {
		if exclusive {
			l.Lock()
		} else {
			l.RLock()
		}
		close(got)
	}()
	select {
	case <-got:
		return nil
	case <-ctx.Done():
		// Release the lock once it is granted, since nobody will use it.
		go func() { <-got; unlockCamera(l, exclusive) }()
		return ctx.Err()
	}
}

func unlockCamera(l *sync.RWMutex, exclusive bool) {
	if exclusive {
		l.Unlock()
	} else {
		l.RUnlock()
	}
}

// capturesAlone: page needs the camera alone in a browser started with
// cfg: it asks for exact sizes (PageCheck.CapturesAlone) and there is no
// spare camera for it.
func (cfg Config) capturesAlone(page string) bool {
	pc, _ := LookupPageCheck(page)
	return pc.CapturesAlone && !cfg.spareCamera()
}

// CapturesAlone reports whether page needs the session's camera alone,
// with no other capturing page beside it.
func (s *Session) CapturesAlone(page string) bool {
	<-s.identified
	cfg := s.cfg
	cfg.Engine = s.engine
	return cfg.capturesAlone(page)
}
