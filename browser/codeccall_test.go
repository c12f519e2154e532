package browser

import (
	"github.com/rtcprobe/rtcprobe/internal/embedded"
	"github.com/rtcprobe/rtcprobe/probes"
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

func TestPeerCallSmoke(t *testing.T) {
	chrome, fx := sharedBrowser(t), sharedFirefox(t)
	srv, err := embedded.Start(embedded.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, relay := range []*probes.Target{nil, {Server: srv.Servers()[1], Transport: probes.UDP}, {Server: srv.Servers()[1], Transport: probes.TCP}} {
		m := PeerCall(testCtx(t, 25*time.Second), chrome, fx, InteropConfig{Relay: relay})
		t.Logf("relay %v: err=%v %v %v", relay != nil, m.Err, m.Metrics, m.Evidence)
	}
}
