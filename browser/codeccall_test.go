package browser

import (
	"testing"
	"time"
)

func TestCodecCallSmoke(t *testing.T) {
	chrome, fx := sharedBrowser(t), sharedFirefox(t)
	for _, pair := range []struct {
		name string
		a, b *Browser
	}{{"chromium-pion", chrome, nil}, {"firefox-pion", fx, nil}, {"chromium-firefox", chrome, fx}} {
		for _, c := range MatrixCodecs[2:5] {
			start := time.Now()
			res := CodecCall(testCtx(t, 20*time.Second), pair.a, pair.b, c, CodecCallConfig{})
			for i, f := range res.Flows {
				var ev []string
				for _, e := range f.Evidence {
					if e.Name != "browser" {
						ev = append(ev, e.Name+"="+e.Value)
					}
				}
				t.Logf("%s %s dir%d (%s): err=%v %v %v", pair.name, c.Name, i, time.Since(start).Round(time.Millisecond), f.Err, f.Metrics, ev)
			}
		}
	}
}
