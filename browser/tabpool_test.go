package browser

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestTabsKept: page checks in a row use one Chrome tab, emptied between
// them (about:blank: the camera the last check opened is released), and
// a check cut short by its deadline loses its tab instead of leaving it
// for the next.
func TestTabsKept(t *testing.T) {
	shared := sharedBrowser(t)
	b, err := Launch(testCtx(t, 30*time.Second), Config{Path: shared.Path()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	pages := func() (urls []string) {
		ts, err := chromedp.Targets(b.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range ts {
			if tg.Type == "page" {
				urls = append(urls, tg.URL)
			}
		}
		return urls
	}
	before := len(pages())
	for range 3 {
		if m := GetUserMedia(testCtx(t, 10*time.Second), b, Video, GUMConfig{}); m.Err != nil {
			t.Fatal(m.Err)
		}
	}
	after := pages()
	if len(after) != before+1 {
		t.Fatalf("%d tabs after three checks in a row (%d before): %v, want one kept", len(after), before, after)
	}
	if len(b.tabs.idle) != 1 {
		t.Fatalf("%d idle tabs, want 1", len(b.tabs.idle))
	}
	url, err := chromedp.Run(b.tabs.idle[0].ctx, chromedp.Evaluate[string]("location.href"))
	if err != nil {
		t.Fatal(err)
	}
	if url != "about:blank" {
		t.Errorf("the kept tab shows %q, want about:blank (the check page gone)", url)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if m := Loopback(ctx, b, LoopbackConfig{}); m.Err == nil {
		t.Fatal("a loopback call finished in 300 ms: the deadline did not cut it short")
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(pages()) != before && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := pages(); len(got) != before || len(b.tabs.idle) != 0 {
		t.Errorf("after a check cut short: tabs %v (%d before), %d idle; want its tab closed, not kept", got, before, len(b.tabs.idle))
	}
}
