package checks

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/probes"
)

// workFor is a check's run that works for d, or fails when its own
// deadline cuts it short.
func workFor(d time.Duration) func(context.Context, Subject) probes.Measurement {
	return func(ctx context.Context, _ Subject) probes.Measurement {
		select {
		case <-time.After(d):
			return metrics(map[string]float64{"rtt_p95_ms": 1})
		case <-ctx.Done():
			return probes.Failed(&probes.TimeoutError{Addr: "127.0.0.1:1", Transport: probes.UDP, After: d})
		}
	}
}

// byID are a run's results by check ID (one subject each).
func byID(t *testing.T, results []Result) map[string]Result {
	t.Helper()
	out := map[string]Result{}
	for _, r := range results {
		if r.Status != Pass {
			t.Errorf("%s: %s %s (waiting counted against its deadline?)", r.CheckID, r.Status, r.Error)
		}
		out[r.CheckID] = r
	}
	return out
}

func overlap(a, b Result) bool { return a.Started < b.Ended && b.Started < a.Ended }

// TestSchedulerCamera: the page that needs the camera alone runs alone,
// and first, though it comes last in the catalogue; the pages sharing it
// run side by side after it; each waited longer than its own deadline
// and passed, since a check's deadline starts when it can work.
func TestSchedulerCamera(t *testing.T) {
	session := browser.NewSession(browser.Config{Path: "/nonexistent/chromium", Media: browser.RealMedia}) // one camera
	defer session.Close()
	withBrowser := func(c *Check, page string) *Check {
		c.Page, c.Timeout = page, 400*time.Millisecond
		c.Subjects = func(*Plan) []Subject { return []Subject{{Name: "b", Browser: session}} }
		return c
	}
	p := &Plan{Checks: []*Check{
		withBrowser(fakeCheck("v.one", 1, workFor(250*time.Millisecond)), browser.PageVideoQuality),
		withBrowser(fakeCheck("v.two", 1, workFor(250*time.Millisecond)), browser.PageAudioQuality),
		withBrowser(fakeCheck("v.alone", 1, workFor(250*time.Millisecond)), browser.PageResolutions),
	}}
	p.Settings.Concurrency = 8
	r := byID(t, Run(context.Background(), p, nil))
	alone, one, two := r["v.alone"], r["v.one"], r["v.two"]
	if overlap(alone, one) || overlap(alone, two) {
		t.Errorf("the camera-alone page ran beside a sharing one: alone %v–%v, one %v–%v, two %v–%v",
			alone.Started, alone.Ended, one.Started, one.Ended, two.Started, two.Ended)
	}
	if alone.Started > one.Started || !overlap(one, two) {
		t.Errorf("want alone first, then the sharing pages together: alone %v–%v, one %v–%v, two %v–%v",
			alone.Started, alone.Ended, one.Started, one.Ended, two.Started, two.Ended)
	}
}

// TestSchedulerSpareCamera: a browser with a camera spare for the exact
// sizes (Chrome's synthetic devices) runs browser.resolutions beside the
// pages that share the other.
func TestSchedulerSpareCamera(t *testing.T) {
	session := browser.NewSession(browser.Config{Path: "/nonexistent/chromium", Engine: browser.Chromium, Media: browser.FakeMedia})
	defer session.Close()
	on := func(c *Check, page string) *Check {
		c.Page = page
		c.Subjects = func(*Plan) []Subject { return []Subject{{Name: "b", Browser: session}} }
		return c
	}
	p := &Plan{Checks: []*Check{
		on(fakeCheck("v.one", 1, workFor(200*time.Millisecond)), browser.PageVideoQuality),
		on(fakeCheck("v.sizes", 1, workFor(200*time.Millisecond)), browser.PageResolutions),
	}}
	p.Settings.Concurrency = 8
	r := byID(t, Run(context.Background(), p, nil))
	if !overlap(r["v.sizes"], r["v.one"]) {
		t.Errorf("resolutions (%v–%v) waited for a page sharing the other camera (%v–%v)",
			r["v.sizes"].Started, r["v.sizes"].Ended, r["v.one"].Started, r["v.one"].Ended)
	}
}

// TestSchedulerCameraAloneNotOvertaken: a camera-alone page waiting for
// something else (here a serial key another check holds) keeps the pages
// that share the camera from taking it meanwhile: else they could keep it
// from it for ever, one after another.
func TestSchedulerCameraAloneNotOvertaken(t *testing.T) {
	session := browser.NewSession(browser.Config{Path: "/nonexistent/chromium", Media: browser.RealMedia}) // one camera
	defer session.Close()
	key := func(Subject) string { return "quota" }
	holder := fakeCheck("k.holder", 1, workFor(200*time.Millisecond))
	holder.Serial = key
	alone := fakeCheck("v.alone", 1, workFor(100*time.Millisecond))
	alone.Page, alone.Serial = browser.PageResolutions, key
	alone.Subjects = func(*Plan) []Subject { return []Subject{{Name: "b", Browser: session}} }
	shared := fakeCheck("v.shared", 1, workFor(100*time.Millisecond))
	shared.Page = browser.PageVideoQuality
	shared.Subjects = alone.Subjects
	// The holder ranks before both (catalogue order, no Takes), so it
	// holds the key when they are admitted.
	holder.Takes = time.Second
	p := &Plan{Checks: []*Check{holder, shared, alone}}
	p.Settings.Concurrency = 8
	r := byID(t, Run(context.Background(), p, nil))
	if a, s := r["v.alone"], r["v.shared"]; s.Started < a.Ended {
		t.Errorf("the sharing page (%v–%v) took the camera before the alone page waiting for its key (%v–%v)", s.Started, s.Ended, a.Started, a.Ended)
	}
}

// TestSchedulerBlockedHoldNoSlot: a job waiting for its serial key holds
// no runner slot. With two slots, the second check of a key waits while
// a third check with nothing to wait for takes the free slot at once; the
// longest work is admitted first.
func TestSchedulerBlockedHoldNoSlot(t *testing.T) {
	key := func(Subject) string { return "quota" }
	first := fakeCheck("s.first", 1, workFor(300*time.Millisecond))
	second := fakeCheck("s.second", 1, workFor(100*time.Millisecond))
	free := fakeCheck("s.free", 1, workFor(100*time.Millisecond))
	first.Serial, second.Serial = key, key
	first.Timeout, second.Timeout, free.Timeout = time.Second, 250*time.Millisecond, time.Second
	first.Takes = 300 * time.Millisecond
	p := &Plan{Checks: []*Check{second, free, first}}
	p.Settings.Concurrency = 2
	r := byID(t, Run(context.Background(), p, nil))
	if r["s.free"].Started >= r["s.first"].Ended {
		t.Errorf("s.free started at %v, after s.first ended (%v): a job waiting for its key held the other slot", r["s.free"].Started, r["s.first"].Ended)
	}
	if r["s.second"].Started < r["s.first"].Ended {
		t.Errorf("two jobs of one key overlapped: first %v–%v, second %v–%v", r["s.first"].Started, r["s.first"].Ended, r["s.second"].Started, r["s.second"].Ended)
	}
}

// TestSchedulerCameraAloneWaitsForReaders: the camera-alone page is not
// admitted while a page sharing the camera holds it, whatever the ranks.
func TestSchedulerCameraAloneWaitsForReaders(t *testing.T) {
	session := browser.NewSession(browser.Config{Path: "/nonexistent/chromium", Media: browser.RealMedia}) // one camera
	defer session.Close()
	job := func(page string) Job {
		return Job{Check: &Check{ID: "x", Page: page}, Subject: Subject{Browser: session}}
	}
	s := newScheduler(4)
	reader := s.enqueue(job(browser.PageVideoQuality), 0, "")
	if !s.acquire(context.Background(), reader) {
		t.Fatal("the sharing page was not admitted to a free camera")
	}
	alone := s.enqueue(job(browser.PageResolutions), 1, "")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if s.acquire(ctx, alone) {
		t.Fatal("the camera-alone page was admitted while a sharing page held the camera")
	}
	s.release(reader)
	again := s.enqueue(job(browser.PageResolutions), 1, "")
	if !s.acquire(context.Background(), again) {
		t.Fatal("the camera-alone page was not admitted once the camera was free")
	}
}

// TestBrowserChecksNameTheirPage: every browser check names the page it
// runs (the scheduler arranges that page's camera and the tab then does
// not take it again), and a check the pre-call page also runs names the
// page of its task.
func TestBrowserChecksNameTheirPage(t *testing.T) {
	srv, err := probes.ParseServer("turn:127.0.0.1:3478")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Catalog() {
		if !strings.HasPrefix(c.ID, "browser.") {
			continue
		}
		if _, ok := browser.LookupPageCheck(c.Page); !ok {
			t.Errorf("%s: page %q is no page check", c.ID, c.Page)
			continue
		}
		if c.Remote == nil {
			continue
		}
		s := Subject{Name: "b", Target: probes.Target{Server: srv, Transport: probes.UDP}}
		if task := c.Remote.Task(s, &Plan{}, RemoteEnv{}); task.Name != c.Page {
			t.Errorf("%s: names page %q, runs %q", c.ID, c.Page, task.Name)
		}
	}
}

// TestSchedulerHoldsConcurrency: --concurrency N runs at most N checks at
// once, and does run N.
func TestSchedulerHoldsConcurrency(t *testing.T) {
	var (
		mu        sync.Mutex
		now, peak int
	)
	work := func(ctx context.Context, s Subject) probes.Measurement {
		mu.Lock()
		now++
		peak = max(peak, now)
		mu.Unlock()
		defer func() { mu.Lock(); now--; mu.Unlock() }()
		return workFor(300*time.Millisecond)(ctx, s)
	}
	p := &Plan{Checks: []*Check{fakeCheck("c.a", 4, work), fakeCheck("c.b", 4, work)}}
	p.Settings.Concurrency = 3
	byID(t, Run(context.Background(), p, nil))
	if peak != 3 {
		t.Errorf("%d checks ran at once with --concurrency 3", peak)
	}
}

// TestJobRanks: the camera-alone page first, then the longest work, then
// the catalogue's order.
func TestJobRanks(t *testing.T) {
	job := func(id, page string, takes time.Duration) Job {
		return Job{Check: &Check{ID: id, Page: page, Takes: takes}}
	}
	jobs := []Job{
		job("a.short", "", 0),
		job("b.shared", browser.PageVideoQuality, 2*time.Second),
		job("c.long", "", 5*time.Second),
		job("d.alone", browser.PageResolutions, 0),
		job("e.short", "", 0),
	}
	want := []int{3, 2, 1, 0, 4}
	if got := jobRanks(jobs); !slices.Equal(got, want) {
		t.Errorf("ranks %v, want %v (alone, long, shared, then catalogue order)", got, want)
	}
}
