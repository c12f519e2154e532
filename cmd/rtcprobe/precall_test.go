package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/internal/store"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/pgtest"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/report"
)

var resultLine = regexp.MustCompile(`msg="pre-call result" id=([A-Z2-7]{26}) verdict=(\w+)`)

// precallServe is `rtcprobe serve` with no config, as an operator starts
// it for the pre-call page, reporting the results it stores.
type precallServe struct {
	*serveProc
	dsn     string
	results chan [2]string // id, verdict
}

// startPrecallServe runs the binary (in ns when given) with --db dsn (""
// is SQLite in a temporary directory) and any further args.
func startPrecallServe(t *testing.T, ns *netlab.NS, dsn string, args ...string) *precallServe {
	t.Helper()
	if dsn == "" {
		dsn = filepath.Join(t.TempDir(), "results.db")
	}
	results := make(chan [2]string, 16)
	p := startServeIn(t, ns, nil, func(line string) {
		if m := resultLine.FindStringSubmatch(line); m != nil {
			results <- [2]string{m[1], m[2]}
		}
	}, append([]string{"--db", dsn}, args...)...)
	return &precallServe{serveProc: p, dsn: dsn, results: results}
}

// result waits for the server to store a result.
func (p *precallServe) result(t *testing.T, within time.Duration) (id, verdict string) {
	t.Helper()
	select {
	case r := <-p.results:
		return r[0], r[1]
	case <-p.exited:
		t.Fatalf("rtcprobe serve exited before storing a result")
	case <-time.After(within):
		t.Fatalf("no result stored within %s", within)
	}
	return "", ""
}

// firefoxLab is a namespace where Firefox's ICE works and nothing leaves
// the machine: lo plus a veth to an empty namespace of the test's own
// (Firefox gathers no candidates without a default route).
func firefoxLab(t *testing.T) *netlab.NS {
	t.Helper()
	netlab.Require(t)
	ns := netlab.NewNS(t, "ff")
	void := netlab.NewNS(t, "void")
	netlab.Link(t, ns, "ff0", "10.97.0.1/24", void, "void0", "10.97.0.2/24")
	ns.Run(t, "ip", "route", "add", "default", "via", "10.97.0.2")
	return ns
}

// firefoxPrefs give Firefox fake camera and microphone granted without a
// prompt, and keep it off the network besides the page.
const firefoxPrefs = `user_pref("media.navigator.streams.fake", true);
user_pref("media.navigator.permission.disabled", true);
user_pref("media.autoplay.default", 0);
user_pref("media.peerconnection.ice.obfuscate_host_addresses", false);
user_pref("media.peerconnection.ice.loopback", true);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("app.update.auto", false);
user_pref("app.normandy.enabled", false);
user_pref("extensions.update.enabled", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("browser.newtabpage.enabled", false);
`

// runFirefox opens url in a headless Firefox ESR in ns with a temporary
// profile and HOME; it is ended (its whole process group) when the test
// ends.
func runFirefox(t *testing.T, ns *netlab.NS, url string) {
	t.Helper()
	ff := testenv.LookPath(t, "firefox-esr")
	home := t.TempDir()
	profile := filepath.Join(home, "profile")
	if err := os.MkdirAll(profile, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(firefoxPrefs), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := ns.Command(context.Background(), "env", "HOME="+home, "TMPDIR="+home, "MOZ_CRASHREPORTER_DISABLE=1",
		ff, "--headless", "--no-remote", "--profile", profile, url)
	out := &netlab.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so its content processes end with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		pgid := cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-exited
		}
		// Content processes that outlived the parent go with the group.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		if leftover := processesIn(pgid); len(leftover) > 0 {
			t.Errorf("Firefox processes left behind: %v", leftover)
		}
		if t.Failed() {
			t.Logf("Firefox's output:\n%s", out.String())
		}
	})
}

// processesIn lists the live processes of a process group.
func processesIn(pgid int) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp …: the fields after the last ')'.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) > 2 && f[2] == fmt.Sprint(pgid) && f[0] != "Z" {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestPrecallFirefox: `rtcprobe serve` with no arguments; a real Firefox
// ESR opens /?autostart=1 and completes the check without a click; its
// judged result is in the store (SQLite and PostgreSQL).
func TestPrecallFirefox(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Firefox")
	}
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			ns := firefoxLab(t)
			dsn := filepath.Join(t.TempDir(), "results.db")
			if db == "postgres" {
				// Over its Unix socket: the server runs in another namespace.
				dsn = pgtest.Start(t).SocketDSN()
			}
			srv := startPrecallServe(t, ns, dsn)
			start := time.Now()
			runFirefox(t, ns, "http://"+srv.addr+"/?autostart=1")
			id, verdict := srv.result(t, 90*time.Second)
			t.Logf("Firefox's result %s (%s) stored %s after the start", id, verdict, time.Since(start).Round(time.Millisecond))
			st, err := store.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			row, err := st.Get(context.Background(), id)
			if err != nil {
				t.Fatalf("Firefox's result is not in the %s store: %v", db, err)
			}
			if !strings.HasPrefix(row.Browser, "Firefox ") || row.Verdict != verdict {
				t.Fatalf("stored browser %q, verdict %q (logged %q)", row.Browser, row.Verdict, verdict)
			}
			rep, err := report.ReadJSON(strings.NewReader(string(row.Report)))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]*result.Result{}
			for i, r := range rep.Results {
				got[r.CheckID+" "+r.Target] = &rep.Results[i]
				t.Logf("%-28s %-45s %-5s %s", r.CheckID, r.Target, r.Status, r.Error)
			}
			// Firefox has no MediaStreamTrackProcessor: these pass through
			// the page's fallbacks (<video> frames, Web Audio or recorded
			// audio).
			for _, must := range []string{"browser.api browser", "browser.getusermedia.video browser", "browser.getusermedia.audio browser",
				"browser.audio.quality browser", "browser.interop all candidates", "browser.interop relay-only via turn:" + srv.embedded + " (UDP)"} {
				if r := got[must]; r == nil || !(r.Status == result.Pass || r.OnlyTimingBroken()) {
					t.Errorf("%s in Firefox: %+v, want pass (or, on a loaded machine, a warning on time only)", must, r)
				}
			}
			// Firefox's fake camera changes colour slowly: frames measured,
			// judged as frozen.
			if r := got["browser.video.quality browser"]; r == nil || r.Metrics["frames"] < 10 || r.Metrics["fps"] <= 0 {
				t.Errorf("video quality in Firefox: %+v", r)
			}
		})
	}
}

// TestPrecallKill9: a result the page was told is stored survives a kill
// -9 of the server right after.
func TestPrecallKill9(t *testing.T) {
	t.Parallel() // waits on its own servers: beside the others of its kind, after the timed tests
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	testenv.Heavy(t, "a browser")
	path, err := browser.Find("")
	if err != nil {
		testenv.Unavailable(t, "no browser: %v (%s)", err, browser.InstallHint)
	}
	dsn := filepath.Join(t.TempDir(), "results.db")
	srv := startPrecallServe(t, nil, dsn)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// The embedded server's certificate is the serve process's own: this
	// browser does not trust it, so TURN over TLS fails, as it would for a
	// user; the result is stored all the same.
	b, err := browser.Launch(ctx, browser.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tab, lines, closeTab, err := b.Visit(ctx, "http://"+srv.addr+"/?autostart=1", false)
	if err != nil {
		t.Fatal(err)
	}
	defer closeTab()
	id, err := chromedp.Run(tab, chromedp.Evaluate[string](`new Promise((resolve) => {
		const f = () => { const r = document.documentElement; if (r.dataset.precall === 'done' || r.dataset.precall === 'error') resolve(r.dataset.reportId || ''); else setTimeout(f, 100); };
		f();
	})`, chromedp.EvalAwaitPromise))
	if err != nil || id == "" {
		t.Fatalf("no verdict on the page: %v (console %v)", err, lines())
	}
	// The page shows the ID: the server acknowledged it. Kill it now.
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-srv.exited
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Get(context.Background(), id); err != nil {
		t.Fatalf("the acknowledged result %s is gone after kill -9: %v", id, err)
	}
}
