package precall

import (
	"bytes"
	"context"
	"crypto/x509"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/internal/engine"
	"github.com/rtcprobe/rtcprobe/internal/testkit/pgtest"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
	"github.com/rtcprobe/rtcprobe/report"
)

// maxPageToVerdict is the budget from the user's click to the verdict.
const maxPageToVerdict = 20 * time.Second

// launchChromium starts a real Chromium that trusts the fixture's
// embedded server (its TURN over TLS), as a user's would trust a real
// server's certificate.
func launchChromium(t *testing.T, f *fixture) *browser.Browser {
	t.Helper()
	testenv.Heavy(t, "a browser")
	path, err := browser.Find("")
	if err != nil {
		testenv.Unavailable(t, "no browser: %v (%s)", err, browser.InstallHint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := browser.Launch(ctx, browser.Config{Path: path, TrustedCerts: []*x509.Certificate{f.emb.Certificate()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("closing the browser: %v", err)
		}
	})
	return b
}

// pageRun is what the page shows at the end.
type pageRun struct {
	State, Verdict, ReportID, Headline, Access string
	Lines                                      string // the verdict's lines, one a line
	Elapsed                                    time.Duration
	console                                    []probes.Evidence
}

// runPage opens the page as a user, clicks Start (unless autostart) and
// waits for the verdict.
func runPage(t *testing.T, b *browser.Browser, url string, deny bool) pageRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tab, lines, closeTab, err := b.Visit(ctx, url, deny)
	if err != nil {
		t.Fatal(err)
	}
	defer closeTab()
	stop := context.AfterFunc(ctx, closeTab)
	defer stop()
	if err := chromedp.Do(tab, chromedp.WaitEnabled("#start"), chromedp.Click("#start")); err != nil {
		t.Fatalf("starting the check: %v (console: %v)", err, lines())
	}
	out, err := chromedp.Run(tab, chromedp.Evaluate[map[string]string](`new Promise((resolve) => {
		const root = document.documentElement;
		const done = () => {
			const s = root.dataset.precall;
			if (s !== 'done' && s !== 'error') return setTimeout(done, 100);
			resolve({state: s, verdict: root.dataset.verdict || '', id: root.dataset.reportId || '', ms: root.dataset.elapsedMs || '',
				headline: document.getElementById('headline').textContent,
				lines: [...document.querySelectorAll('#lines li')].map((li) => li.textContent).join('\n'),
				access: document.getElementById('access').hidden ? '' : document.getElementById('access').textContent,
				failed: document.getElementById('failed-text').textContent});
		};
		done();
	})`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("waiting for the verdict: %v (console: %v)", err, lines())
	}
	if out["state"] != "done" {
		t.Fatalf("the page ended in %q: %s (console: %v)", out["state"], out["failed"], lines())
	}
	ms, _ := strconv.Atoi(out["ms"])
	run := pageRun{State: out["state"], Verdict: out["verdict"], ReportID: out["id"], Headline: out["headline"], Access: out["access"],
		Lines: out["lines"], Elapsed: time.Duration(ms) * time.Millisecond, console: lines()}
	if shot := os.Getenv("RTCPROBE_PRECALL_SCREENSHOT"); shot != "" && !deny {
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(shot, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return run
}

// storedReport reads a result through the admin API and parses it.
func storedReport(t testing.TB, f *fixture, id string) (report.Report, []byte) {
	t.Helper()
	r := f.do(t, "GET", "api/v1/results/"+id, nil, admin())
	if r.code != 200 {
		t.Fatalf("GET /api/v1/results/%s = %d %s", id, r.code, r.body)
	}
	rep, err := report.ReadJSON(strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	return rep, []byte(r.body)
}

// TestChromiumUser: a real Chromium opens the page, the user clicks Start;
// the verdict comes within the budget, and the judged result is in the
// store (SQLite and PostgreSQL), the admin API and /admin, judged as the
// CLI judges.
func TestChromiumUser(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			fc := fixtureConfig{}
			if db == "postgres" {
				fc.dsn = pgtest.Start(t).DSN()
			}
			f := startFixture(t, fc)
			b := launchChromium(t, f)
			run := runPage(t, b, f.url, false)
			t.Logf("page to verdict: %s, verdict %s: %s", run.Elapsed, run.Verdict, run.Headline)
			// On loopback the call with all candidates pairs host with host.
			if want := "Calls connect directly between your browser and this server."; !strings.Contains(run.Lines, want) {
				t.Errorf("the verdict's lines\n%s\nlack %q", run.Lines, want)
			}
			if run.Elapsed <= 0 || run.Elapsed > maxPageToVerdict {
				t.Errorf("page to verdict took %s, want at most %s", run.Elapsed, maxPageToVerdict)
			}
			if !idPattern().MatchString(run.ReportID) {
				t.Fatalf("report ID %q", run.ReportID)
			}
			row, err := f.store.Get(context.Background(), run.ReportID)
			if err != nil {
				t.Fatalf("the result is not in the %s store: %v", db, err)
			}
			rep, raw := storedReport(t, f, run.ReportID)
			if !bytes.Equal(raw, row.Report) || string(rep.Summary().Status) != run.Verdict || row.Verdict != run.Verdict {
				t.Fatalf("the page says %s, the store %s, the report %s", run.Verdict, row.Verdict, rep.Summary().Status)
			}
			if !strings.HasPrefix(row.Browser, "HeadlessChrome ") || row.OS != "Linux" || row.Client != "127.0.0.0/24" {
				t.Errorf("stored browser %q, OS %q, client %q", row.Browser, row.OS, row.Client)
			}
			// A pass, or on a loaded machine a warning on time and pace only.
			passed := map[string]bool{}
			for _, r := range rep.Results {
				passed[r.CheckID+" "+r.Target] = r.Status == result.Pass || r.OnlyTimingBroken()
				t.Logf("%-28s %-45s %-5s %s", r.CheckID, r.Target, r.Status, r.Error)
			}
			for _, must := range []string{"browser.api browser", "browser.getusermedia.video browser", "browser.getusermedia.audio browser",
				"browser.video.quality browser", "browser.interop all candidates"} {
				if !passed[must] {
					t.Errorf("%s: want pass", must)
				}
			}
			relays := 0
			for _, r := range rep.Results {
				if r.CheckID == "browser.interop" && strings.HasPrefix(r.Target, "relay-only") {
					relays++
					if !(r.Status == result.Pass || r.OnlyTimingBroken()) || r.Metrics["relayed"] != 1 {
						t.Errorf("%s: %s relayed=%v (%s)", r.Target, r.Status, r.Metrics["relayed"], r.Error)
					}
				}
				if r.CheckID == "browser.interop" && r.Target == "all candidates" {
					for _, m := range []string{"pion_video_frames", "chrome_frames_decoded", "up_kbps", "down_kbps", "dc_up_mbps", "dc_down_mbps"} {
						if r.Metrics[m] <= 0 {
							t.Errorf("all candidates: %s = %v, want > 0", m, r.Metrics[m])
						}
					}
					// Chrome reports round trips in whole milliseconds: 0 on loopback.
					for _, m := range []string{"rtt_ms", "up_loss_pct", "down_loss_pct"} {
						if _, ok := r.Metrics[m]; !ok {
							t.Errorf("all candidates: no %s", m)
						}
					}
				}
			}
			if relays != 3 {
				t.Errorf("%d relay-only calls, want 3 (TURN over UDP, TCP and TLS)", relays)
			}
			judgedAsCLI(t, rep)
			list := f.do(t, "GET", "api/v1/results?browser=headless", nil, admin())
			if list.code != 200 || !strings.Contains(list.body, run.ReportID) {
				t.Errorf("the result is not listed: %d %s", list.code, list.body)
			}
			page := f.do(t, "GET", "admin/results/"+run.ReportID, nil, admin())
			if page.code != 200 || !strings.Contains(page.body, "browser.interop") {
				t.Errorf("/admin/results/%s = %d", run.ReportID, page.code)
			}
			user := f.do(t, "GET", "r/"+run.ReportID, nil)
			if user.code != 200 || !strings.Contains(user.body, "browser.interop") {
				t.Errorf("the user's link = %d", user.code)
			}
		})
	}
}

// judgedAsCLI re-judges every measured result of a stored report with the
// plan the CLI makes for the precall profile (thresholds in force, the
// catalogue's checks), and the statuses must agree.
func judgedAsCLI(t *testing.T, rep report.Report) {
	t.Helper()
	run, err := engine.Prepare(engine.Input{Profile: "precall", External: true})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*checks.Check{}
	for _, c := range run.Plan.Checks {
		byID[c.ID] = c
	}
	for _, r := range rep.Results {
		c := byID[r.CheckID]
		if c == nil {
			t.Errorf("%s is not a check the CLI's precall profile runs", r.CheckID)
			continue
		}
		if r.Status == result.Skip || (r.Error != "" && len(r.Broken) == 0) {
			continue // the measurement failed: nothing to re-judge
		}
		cli := c.Judge(checks.Subject{Name: r.Target}, probes.Measurement{Metrics: r.Metrics}, 0, run.Plan.ThresholdsFor(c))
		if cli.Status != r.Status {
			t.Errorf("%s %s: stored %s, the CLI judges %s (%s)", r.CheckID, r.Target, r.Status, cli.Status, cli.Error)
		}
	}
}

// TestChromiumDenied: the user blocks camera and microphone; the page
// says so, the network part still runs, and the report advises on the
// denial as the CLI does.
func TestChromiumDenied(t *testing.T) {
	f := startFixture(t, fixtureConfig{})
	b := launchChromium(t, f)
	run := runPage(t, b, f.url, true)
	if !strings.Contains(run.Access, "blocked") {
		t.Errorf("the page did not say the devices are blocked: %q", run.Access)
	}
	rep, _ := storedReport(t, f, run.ReportID)
	var gum, call *result.Result
	for i, r := range rep.Results {
		switch {
		case r.CheckID == "browser.getusermedia.video":
			gum = &rep.Results[i]
		case r.CheckID == "browser.ice" && call == nil:
			call = &rep.Results[i]
		}
	}
	if gum == nil || gum.Status != result.Fail || !strings.Contains(gum.Error, "NotAllowedError") || !strings.Contains(gum.Advice, "Permission denied") {
		t.Fatalf("getUserMedia after a denial: %+v", gum)
	}
	if call == nil || call.Status == result.Skip {
		t.Fatalf("the network checks did not run after the denial: %+v", call)
	}
}

// TestChromiumNoDevice: a browser without camera or microphone (real
// devices in a machine that has none) is told so, and the report says
// what to connect.
func TestChromiumNoDevice(t *testing.T) {
	f := startFixture(t, fixtureConfig{})
	testenv.Heavy(t, "a browser")
	path, err := browser.Find("")
	if err != nil {
		testenv.Unavailable(t, "no browser: %v (%s)", err, browser.InstallHint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := browser.Launch(ctx, browser.Config{Path: path, Media: browser.RealMedia})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	run := runPage(t, b, f.url, false)
	if !strings.Contains(run.Access, "No camera or microphone found") {
		t.Skipf("this machine has a camera or microphone: %q", run.Access)
	}
	rep, _ := storedReport(t, f, run.ReportID)
	for _, r := range rep.Results {
		if r.CheckID == "browser.getusermedia.audio" && (r.Status != result.Fail || !strings.Contains(r.Advice, "connect a camera/microphone")) {
			t.Errorf("getUserMedia without a device: %s %q %q", r.Status, r.Error, r.Advice)
		}
	}
}

// TestChromiumUnsupported: a browser without WebRTC gets a message naming
// what is missing instead of a broken page.
func TestChromiumUnsupported(t *testing.T) {
	f := startFixture(t, fixtureConfig{})
	b := launchChromium(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tab, lines, closeTab, err := b.Visit(ctx, f.url, false)
	if err != nil {
		t.Fatal(err)
	}
	defer closeTab()
	stop := context.AfterFunc(ctx, closeTab)
	defer stop()
	// An old browser: no RTCPeerConnection.
	if _, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: "delete window.RTCPeerConnection; delete window.webkitRTCPeerConnection;"}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(tab, chromedp.Evaluate[map[string]string](`({state: document.documentElement.dataset.precall,
		missing: document.getElementById('missing').textContent, shown: String(!document.getElementById('unsupported').hidden),
		start: String(document.getElementById('intro').hidden)})`))
	if err != nil {
		t.Fatal(err)
	}
	if got["state"] != "unsupported" || got["shown"] != "true" || got["start"] != "true" || !strings.Contains(got["missing"], "RTCPeerConnection") {
		t.Fatalf("the page in a browser without WebRTC: %v (console %v)", got, lines())
	}
}
