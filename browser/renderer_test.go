package browser

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestQualityPagesOwnRenderer: the pages that count frames run in a
// renderer of their own. A check page that keeps its main thread busy
// 200 ms in every 250 (as a dozen tabs' scripts would, sharing one
// renderer) does not cut browser.video.quality's count: it sees the
// synthetic camera's 20 fps, where on the shared main thread it would
// lose most frames.
func TestQualityPagesOwnRenderer(t *testing.T) {
	b := sharedBrowser(t)
	if b.Engine() != Chromium {
		t.Skip("Chrome's renderers")
	}
	holdTab(t)
	holdTab(t)
	tab, err := b.tabs.take(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tab.close()
	if err := chromedp.Do(tab.ctx, chromedp.Navigate(b.pages.origin+"/index.html")); err != nil {
		t.Fatal(err)
	}
	const busyFor = 8 * time.Second
	if _, err := chromedp.Run(tab.ctx, chromedp.Evaluate[bool](`(() => {
		const stop = performance.now() + 8000;
		const id = setInterval(() => {
			const end = performance.now() + 200;
			while (performance.now() < end) {}
			if (performance.now() > stop) clearInterval(id);
		}, 250);
		return true;
	})()`)); err != nil {
		t.Fatal(err)
	}
	busyEnd := time.Now().Add(busyFor)
	m := VideoQuality(testCtx(t, 15*time.Second), b, QualityConfig{})
	if m.Err != nil {
		t.Fatal(m.Err)
	}
	if time.Now().After(busyEnd) {
		t.Fatal("the quality check ended after the busy page stopped: nothing was shown")
	}
	if fps := m.Metrics["fps"]; fps < 15 {
		t.Errorf("video quality counted %.1f fps beside a busy page: it shares that page's main thread", fps)
	}
}
