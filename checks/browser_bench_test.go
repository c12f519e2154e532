package checks

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// BenchmarkBrowserNonMedia times what `rtcprobe --checks
// browser.api,browser.codecs,browser.ice` costs: a fresh browser start
// plus every check that opens no device, through the runner (goal ≤ 3 s).
func BenchmarkBrowserNonMedia(b *testing.B) {
	testenv.Heavy(b, "a browser")
	if _, err := browser.Find(""); err != nil {
		testenv.Unavailable(b, "%v (%s)", err, browser.InstallHint)
	}
	srv, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	checks := MustSelect(Catalog(), "browser.api,browser.codecs,browser.ice")
	for b.Loop() {
		sess := browser.NewSession(browser.Config{})
		p := &Plan{Checks: checks, Servers: srv.Servers(), Browsers: []*browser.Session{sess}, TLS: &tls.Config{RootCAs: srv.CertPool(), MinVersion: tls.VersionTLS12}, Settings: config.Settings{Timeout: 30 * time.Second}}
		for _, r := range Run(context.Background(), p, nil) {
			// turns: skips: the browser cannot trust the embedded certificate.
			if r.Status != Pass && r.Status != Skip {
				b.Fatalf("%s %s: %s %s", r.CheckID, r.Target, r.Status, r.Error)
			}
		}
		b.StopTimer()
		_ = sess.Close()
		b.StartTimer()
	}
}
