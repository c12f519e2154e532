package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// pageResult is what rtcprobe.run() resolves to.
type pageResult struct {
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Name       string `json:"name"`
		Message    string `json:"message"`
		Constraint string `json:"constraint"`
		Op         string `json:"op"`
	} `json:"error"`
}

// call runs the page check name(arg) in a fresh tab and decodes its JSON
// result into out. Console output is returned as evidence either way. ctx
// bounds everything (waiting for the camera too), and the tab is always
// closed.
func (b *Browser) call(ctx context.Context, name string, arg any, out any, perm permission) ([]probes.Evidence, error) {
	start := time.Now()
	if capturing[name] {
		if err := lockCamera(ctx, &b.camera, name == "resolutions"); err != nil {
			return nil, &TimeoutError{Stage: "waiting for the camera", After: time.Since(start)}
		}
		defer unlockCamera(&b.camera, name == "resolutions")
	}
	argJSON, err := json.Marshal(arg)
	if err != nil {
		return nil, err
	}
	var con console
	// timedOut names the step the deadline interrupted, if it did.
	timedOut := func(step string, err error) error {
		if ctx.Err() != nil {
			return &TimeoutError{Stage: "page check " + name + " (" + step + ")", After: time.Since(start)}
		}
		return fmt.Errorf("%s: %w", step, err)
	}
	expr := fmt.Sprintf("rtcprobe.run(%q, %s).then(r => JSON.stringify(r))", name, argJSON)
	var raw string
	if b.fx != nil {
		raw, err = b.fx.evaluate(ctx, b.pages.origin+"/index.html", expr, perm, &con, timedOut)
	} else {
		raw, err = b.evaluateChrome(ctx, expr, perm, &con, timedOut)
	}
	if err != nil {
		return con.evidence(), err
	}
	var res pageResult
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		return con.evidence(), fmt.Errorf("page check %s: bad result: %w", name, err)
	}
	if !res.OK {
		if res.Error == nil {
			return con.evidence(), errors.New("page check " + name + " failed without an error")
		}
		op := res.Error.Op
		if op == "" {
			op = name
		}
		return con.evidence(), &DOMError{Op: op, Name: res.Error.Name, Message: res.Error.Message, Constraint: res.Error.Constraint}
	}
	if out != nil {
		if err := json.Unmarshal(res.Result, out); err != nil {
			return con.evidence(), fmt.Errorf("page check %s: bad result: %w", name, err)
		}
	}
	return con.evidence(), nil
}

// evaluateChrome runs expr (a promise of a string) in a fresh Chrome tab
// on the check page and closes the tab.
func (b *Browser) evaluateChrome(ctx context.Context, expr string, perm permission, con *console,
	timedOut func(step string, err error) error) (string, error) {
	// A permission override needs a browser context of its own, so it never
	// reaches the other checks' tabs; without one, the default context is
	// faster to open a tab in.
	var opts []chromedp.ContextOption
	if perm != permissionDefault {
		opts = append(opts, chromedp.WithNewBrowserContext())
	}
	tab, closeTab := chromedp.NewContext(b.ctx, opts...)
	defer closeTab()
	// The tab's own context is not derived from ctx (a chromedp quirk: a
	// deadline on the first action would kill the tab); ctx ending closes it.
	stop := context.AfterFunc(ctx, closeTab)
	defer stop()
	if err := chromedp.Listen(tab, con.listen); err != nil {
		return "", timedOut("opening a tab", err)
	}
	if perm != permissionDefault {
		if err := b.setPermission(tab, chromedp.FromContext(tab).BrowserContextID, perm); err != nil {
			return "", timedOut("setting permissions", err)
		}
	}
	if err := chromedp.Do(tab, chromedp.Navigate(b.pages.origin+"/index.html")); err != nil {
		return "", timedOut("loading the check page", err)
	}
	raw, err := chromedp.Run(tab, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return "", timedOut("running the check", err)
	}
	return raw, nil
}

// capturing lists the page checks that open the camera or microphone.
var capturing = map[string]bool{"devices": true, "getUserMedia": true, "resolutions": true,
	"videoQuality": true, "audioQuality": true, "loopback": true, "interop": true}

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
