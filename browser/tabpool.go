package browser

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chromedp/chromedp"
)

// Chrome tabs of the default browser context are kept between page checks
// instead of opened for each: a tab's start (its target, the DevTools
// domains attached to it, its first document) costs about 0.1 s of CPU,
// which a default run's two dozen checks paid beside the checks that
// measure time. Each check still gets a fresh document (it navigates to
// the check page), and a tab goes back to the pool only after its document
// is gone (about:blank: its camera, microphone and peer connections
// released) and the check ended without error; any other tab is closed.
// Tabs with a permission override have a browser context of their own and
// are never kept.

// pooledTab is one kept tab: its chromedp context, and the console of the
// check that uses it now (nil between checks: late messages of the last
// page go nowhere).
type pooledTab struct {
	ctx     context.Context
	close   context.CancelFunc
	console atomic.Pointer[console]
}

// tabPool is a browser's idle tabs.
type tabPool struct {
	mu   sync.Mutex
	idle []*pooledTab
}

// blankTimeout bounds the navigation that empties a tab before it is kept.
const blankTimeout = 2 * time.Second

// take returns an idle tab, or opens one.
func (p *tabPool) take(root context.Context) (*pooledTab, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		t := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return t, nil
	}
	p.mu.Unlock()
	t := &pooledTab{}
	t.ctx, t.close = chromedp.NewContext(root)
	if err := chromedp.Listen(t.ctx, func(ev any) {
		if c := t.console.Load(); c != nil {
			c.listen(ev)
		}
	}); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// put empties t and keeps it, or closes it when that fails.
func (p *tabPool) put(t *pooledTab) {
	t.console.Store(nil)
	// The tab's context is not bounded (an action's deadline would close
	// the tab anyway): a timer closes it instead.
	timer := time.AfterFunc(blankTimeout, t.close)
	err := chromedp.Do(t.ctx, chromedp.Navigate("about:blank"))
	if !timer.Stop() || err != nil {
		t.close()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.idle = append(p.idle, t)
}

// closeIdle closes the idle tabs.
func (p *tabPool) closeIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, t := range idle {
		t.close()
	}
}
