package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/rtcprobe/rtcprobe/probes"
)

// permission is what a tab answers when a page asks for camera and mic.
type permission string

const (
	permissionDefault permission = ""        // as granted at launch
	permissionGrant   permission = "granted" // set via DevTools
	permissionDeny    permission = "denied"  // set via DevTools, as a user's "Block"
)

// console collects a tab's console messages and uncaught exceptions.
type console struct {
	mu    sync.Mutex
	lines []probes.Evidence
}

// maxConsoleLines bounds evidence from a chatty page.
const maxConsoleLines = 20

func (c *console) add(kind, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.lines) < maxConsoleLines {
		c.lines = append(c.lines, probes.Evidence{Name: kind, Value: text})
	}
}

func (c *console) listen(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, a := range ev.Args {
			parts = append(parts, remoteText(a))
		}
		c.add("console."+string(ev.Type), strings.Join(parts, " "))
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		c.add("exception", fmt.Sprintf("%s (%s:%d)", text, d.URL, d.LineNumber+1))
	}
}

func remoteText(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if len(o.Value) > 0 {
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			return s
		}
		return string(o.Value)
	}
	if o.Description != "" {
		return o.Description
	}
	return string(o.UnserializableValue)
}

func (c *console) evidence() []probes.Evidence {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]probes.Evidence(nil), c.lines...)
}

// Task is one page check: the function of pages/rtcprobe.js and its
// argument. rtcprobe runs it in a tab it drives; the pre-call page runs
// the same task in a user's browser and posts the PageResult back.
type Task struct {
	Name string         `json:"name"`
	Arg  map[string]any `json:"arg"`
}

// PageResult is what rtcprobe.run(name, arg) resolves to: a result, or
// the exception the check raised.
type PageResult struct {
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *PageError      `json:"error,omitempty"`
}

// PageError is a page check's exception as the page reports it.
type PageError struct {
	Name       string `json:"name"`
	Message    string `json:"message"`
	Constraint string `json:"constraint"`
	Op         string `json:"op"`
}

// Decode turns the result into out, or the page's exception into a
// *DOMError, naming the check for errors of its own.
func (r PageResult) Decode(name string, out any) error {
	if !r.OK {
		if r.Error == nil {
			return errors.New("page check " + name + " failed without an error")
		}
		op := r.Error.Op
		if op == "" {
			op = name
		}
		return &DOMError{Op: op, Name: r.Error.Name, Message: r.Error.Message, Constraint: r.Error.Constraint}
	}
	if out != nil {
		if err := json.Unmarshal(r.Result, out); err != nil {
			return fmt.Errorf("page check %s: bad result: %w", name, err)
		}
	}
	return nil
}

// run runs a page check in a fresh tab and returns what it resolved to.
// Console output is returned as evidence either way; an error is the
// tab's or the deadline's, never the page check's own (that is in the
// result). ctx bounds everything (waiting for the camera too), and the tab
// is always closed.
func (b *Browser) run(ctx context.Context, t Task, perm permission) (PageResult, []probes.Evidence, error) {
	name := t.Name
	start := time.Now()
	if pc, _ := LookupPageCheck(name); pc.Captures && !cameraHeld(ctx, name) {
		alone := b.cfg.capturesAlone(name)
		if err := lockCamera(ctx, &b.camera, alone); err != nil {
			return PageResult{}, nil, &StepTimeoutError{Stage: "waiting for the camera", After: time.Since(start)}
		}
		defer unlockCamera(&b.camera, alone)
	}
	arg := t.Arg
	if arg == nil {
		arg = map[string]any{}
	}
	argJSON, err := json.Marshal(arg)
	if err != nil {
		return PageResult{}, nil, err
	}
	var con console
	// timedOut names the step the deadline interrupted, if it did.
	timedOut := func(step string, err error) error {
		if ctx.Err() != nil {
			return &StepTimeoutError{Stage: "page check " + name + " (" + step + ")", After: time.Since(start)}
		}
		return fmt.Errorf("%s: %w", step, err)
	}
	expr := fmt.Sprintf("rtcprobe.run(%q, %s).then(r => JSON.stringify(r))", name, argJSON)
	var raw string
	if b.fx != nil {
		raw, err = b.fx.evaluate(ctx, b.pages.origin+"/index.html", expr, perm, &con, timedOut)
	} else {
		origin := b.pages.origin
		if pc, _ := LookupPageCheck(name); pc.OwnRenderer {
			origin = b.pages.ownSite
		}
		raw, err = b.evaluateChrome(ctx, origin, expr, perm, &con, timedOut)
	}
	if err != nil {
		return PageResult{}, con.evidence(), err
	}
	var res PageResult
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		return PageResult{}, con.evidence(), fmt.Errorf("page check %s: bad result: %w", name, err)
	}
	return res, con.evidence(), nil
}

// call runs a page check and decodes its result into out (see run and
// PageResult.Decode).
func (b *Browser) call(ctx context.Context, t Task, out any, perm permission) ([]probes.Evidence, error) {
	res, ev, err := b.run(ctx, t, perm)
	if err != nil {
		return ev, err
	}
	return ev, res.Decode(t.Name, out)
}

// evaluateChrome runs expr (a promise of a string) on the check page of
// origin in a Chrome tab: a kept tab of the default browser context
// (tabpool.go), or a new tab in a browser context of its own for a
// permission override, so that it never reaches the other checks' tabs.
func (b *Browser) evaluateChrome(ctx context.Context, origin, expr string, perm permission, con *console,
	timedOut func(step string, err error) error) (string, error) {
	var tab context.Context
	var closeTab context.CancelFunc
	var kept *pooledTab
	if perm == permissionDefault {
		t, err := b.tabs.take(b.ctx)
		if err != nil {
			return "", timedOut("opening a tab", err)
		}
		kept, tab, closeTab = t, t.ctx, t.close
		t.console.Store(con)
	} else {
		tab, closeTab = chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
		if err := chromedp.Listen(tab, con.listen); err != nil {
			closeTab()
			return "", timedOut("opening a tab", err)
		}
	}
	// The tab's own context is not derived from ctx (a chromedp quirk: a
	// deadline on the first action would kill the tab); ctx ending closes it.
	stop := context.AfterFunc(ctx, closeTab)
	raw, err := b.evaluateIn(tab, origin, expr, perm, timedOut)
	if stop() && err == nil && kept != nil {
		b.tabs.put(kept)
	} else {
		closeTab()
	}
	return raw, err
}

func (b *Browser) evaluateIn(tab context.Context, origin, expr string, perm permission, timedOut func(step string, err error) error) (string, error) {
	if perm != permissionDefault {
		if err := b.setPermission(tab, chromedp.FromContext(tab).BrowserContextID, perm); err != nil {
			return "", timedOut("setting permissions", err)
		}
	}
	if err := chromedp.Do(tab, chromedp.Navigate(origin+"/index.html")); err != nil {
		return "", timedOut("loading the check page", err)
	}
	raw, err := chromedp.Run(tab, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return "", timedOut("running the check", err)
	}
	return raw, nil
}

// measure runs a page check and turns its result into a measurement with
// from; the page's console lines and the browser's identity follow the
// check's own evidence.
func (b *Browser) measure(ctx context.Context, t Task, perm permission, from func(PageResult) probes.Measurement) probes.Measurement {
	res, ev, err := b.run(ctx, t, perm)
	var m probes.Measurement
	if err != nil {
		m = probes.Failed(err)
	} else {
		m = from(res)
	}
	m.Evidence = b.withContext(m.Evidence, ev)
	return m
}

// Visit opens a page of someone else's (the hosted pre-call page) in a tab
// of its own browser context, as a user would, with camera and microphone
// allowed for its origin, or blocked when deny is set. It returns the tab
// for chromedp actions, its console lines so far, and a function that
// closes the tab. ctx bounds the opening only.
func (b *Browser) Visit(ctx context.Context, pageURL string, deny bool) (tab context.Context, lines func() []probes.Evidence, closeTab func(), err error) {
	if b.fx != nil {
		return nil, nil, nil, fmt.Errorf("%w: Visit drives Chrome's tabs (chromedp), not Firefox", probes.ErrUnsupported)
	}
	u, err := url.Parse(pageURL)
	if err != nil {
		return nil, nil, nil, err
	}
	tab, closeTab = chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	var con console
	stop := context.AfterFunc(ctx, closeTab)
	defer stop()
	if err := chromedp.Listen(tab, con.listen); err != nil {
		closeTab()
		return nil, nil, nil, fmt.Errorf("opening a tab: %w", err)
	}
	perm := permissionGrant
	if deny {
		perm = permissionDeny
	}
	if err := b.setPermissionFor(tab, u.Scheme+"://"+u.Host, chromedp.FromContext(tab).BrowserContextID, perm); err != nil {
		closeTab()
		return nil, nil, nil, err
	}
	if err := chromedp.Do(tab, chromedp.Navigate(pageURL)); err != nil {
		closeTab()
		return nil, nil, nil, fmt.Errorf("loading %s: %w", pageURL, err)
	}
	if ctx.Err() != nil {
		closeTab()
		return nil, nil, nil, ctx.Err()
	}
	return tab, con.evidence, closeTab, nil
}
