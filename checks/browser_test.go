package checks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

func mustSelect(t *testing.T, spec string) []*Check {
	t.Helper()
	ps, err := config.ParseSelection(Entries(Catalog()), spec)
	if err != nil {
		t.Fatal(err)
	}
	return Select(Catalog(), ps)
}

func TestBrowserMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv(browser.EnvBrowser, "")
	for _, tt := range []struct {
		name    string
		path    string
		require bool
		want    Status
	}{
		{"none on PATH", "", false, Skip},
		{"none on PATH, required", "", true, Fail},
		{"named path missing", "/nonexistent/chromium", false, Skip},
		{"named path missing, required", "/nonexistent/chromium", true, Fail},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sess := browser.NewSession(browser.Config{Path: tt.path})
			defer sess.Close()
			p := &Plan{Checks: mustSelect(t, "browser"), Browsers: []*browser.Session{sess}, Settings: config.Settings{Timeout: 10 * time.Second, RequireBrowser: tt.require}}
			p.Servers = []probes.Server{mustParse(t, "turn:127.0.0.1:3478")}
			results := Run(context.Background(), p, nil)
			if len(results) < len(p.Checks) {
				t.Fatalf("%d results for %d checks", len(results), len(p.Checks))
			}
			for _, r := range results {
				if r.Status != tt.want {
					t.Errorf("%s: status %s, want %s (%s)", r.CheckID, r.Status, tt.want, r.Error)
				}
				if !strings.Contains(r.Advice, "install Chromium") {
					t.Errorf("%s: advice %q lacks the install hint", r.CheckID, r.Advice)
				}
			}
		})
	}
}

func mustParse(t *testing.T, uri string) probes.Server {
	t.Helper()
	s, err := probes.ParseServer(uri)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// needBrowser skips (fails in CI) without Chromium.
func needBrowser(t *testing.T) {
	t.Helper()
	testenv.Heavy(t, "a browser")
	if _, err := browser.Find(""); err != nil {
		testenv.Unavailable(t, "%v (%s)", err, browser.InstallHint)
	}
}

// TestBrowserChecks runs every browser check through the runner, as
// `rtcprobe --checks browser` does, against the embedded server.
func TestBrowserChecks(t *testing.T) {
	needBrowser(t)
	srv, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// As the default run does: the embedded server's certificate is trusted
	// by rtcprobe and by the browser, so its turns: subjects run too.
	sess := browser.NewSession(browser.Config{TrustedCerts: []*x509.Certificate{srv.Certificate()}})
	defer sess.Close()
	// Three at a time: the real-time checks must not starve each other when
	// the test shares the machine with every other package's tests.
	p := &Plan{Checks: mustSelect(t, "browser"), Servers: srv.Servers(), Browsers: []*browser.Session{sess}, TLS: &tls.Config{RootCAs: srv.CertPool(), MinVersion: tls.VersionTLS12}, Settings: config.Settings{Timeout: 90 * time.Second, Concurrency: 3, RequireBrowser: true}}
	results := Run(context.Background(), p, nil)
	seen := map[string]int{}
	for _, r := range results {
		seen[r.CheckID]++
		// Warnings are allowed: a loaded CI machine can start a camera slowly.
		if r.Status != Pass && r.Status != Warn {
			t.Errorf("%s %s: %s: %s (advice %q)", r.CheckID, r.Target, r.Status, r.Error, r.Advice)
		}
		if len(r.Metrics) == 0 {
			t.Errorf("%s %s: no metrics", r.CheckID, r.Target)
		}
		for _, e := range r.Evidence {
			if _, pass := srv.Credentials(); strings.Contains(e.Value, pass) {
				t.Fatalf("%s evidence leaks the TURN password", r.CheckID)
			}
		}
	}
	// ICE: stun (UDP) + turn UDP/TCP + turns TLS (no DTLS: browsers lack
	// it); interop: all + relay over the same three.
	if seen["browser.ice"] != 4 || seen["browser.interop"] != 4 {
		t.Errorf("subjects per check = %v", seen)
	}
}

// The turns: subjects run when the browser trusts exactly what the run
// trusts, and skip, naming the trust settings the browser cannot follow,
// when the run trusts by a CA file (--ca) or skips verification
// (--insecure).
func TestBrowserTrustsTarget(t *testing.T) {
	srv, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	other, err := netlab.NewCert(time.Now().Add(time.Hour), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	trusting := browser.NewSession(browser.Config{TrustedCerts: []*x509.Certificate{srv.Certificate()}})
	defer trusting.Close()
	untold := browser.NewSession(browser.Config{})
	defer untold.Close()
	embeddedRoots := &tls.Config{RootCAs: srv.CertPool()}
	tests := []struct {
		name     string
		uri      string
		tls      *tls.Config
		sess     *browser.Session
		wantSkip bool
	}{
		{"embedded certificate, browser told", "turns:127.0.0.1:5349", embeddedRoots, trusting, false},
		{"embedded certificate, browser not told", "turns:127.0.0.1:5349", embeddedRoots, untold, true},
		{"--ca", "turns:127.0.0.1:5349", &tls.Config{RootCAs: other.Pool}, trusting, true},
		{"--insecure", "turns:127.0.0.1:5349", &tls.Config{InsecureSkipVerify: true, RootCAs: srv.CertPool()}, trusting, true},
		{"system roots", "turns:127.0.0.1:5349", nil, untold, false},
		{"not TLS", "turn:127.0.0.1:3478", &tls.Config{RootCAs: other.Pool}, untold, false},
	}
	for _, tt := range tests {
		s := Subject{Target: probes.Target{Server: mustParse(t, tt.uri), Transport: probes.TLS, TLS: tt.tls}, Browser: tt.sess}
		err := browserTrustsTarget(s, &Plan{TLS: tt.tls, Browsers: []*browser.Session{tt.sess}})
		if skip := err != nil; skip != tt.wantSkip || skip && (!errors.Is(err, probes.ErrUnsupported) || !strings.Contains(err.Error(), "trust settings")) {
			t.Errorf("%s: %v, want skip %v", tt.name, err, tt.wantSkip)
		}
	}
}

// TestBrowserDetectorsJudged feeds black video and a silent mic (files
// made with ffmpeg) through the catalogue's thresholds, and denies the
// camera for real: each must fail with the matching advice.
func TestBrowserDetectorsJudged(t *testing.T) {
	needBrowser(t)
	ffmpeg := testenv.LookPath(t, "ffmpeg")
	dir := t.TempDir()
	video, audio := filepath.Join(dir, "black.y4m"), filepath.Join(dir, "silent.wav")
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "color=c=black:s=320x240:r=15", "-t", "1", "-pix_fmt", "yuv420p", video},
		{"-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "1", "-c:a", "pcm_s16le", audio},
	} {
		if out, err := exec.Command(ffmpeg, append([]string{"-y", "-loglevel", "error"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, out)
		}
	}
	sess := browser.NewSession(browser.Config{FakeVideoFile: video, FakeAudioFile: audio})
	defer sess.Close()
	p := &Plan{Checks: mustSelect(t, "browser.video.quality,browser.audio.quality"), Browsers: []*browser.Session{sess}, Settings: config.Settings{Timeout: 30 * time.Second}}
	want := map[string]string{
		"browser.video.quality": "black frames",
		"browser.audio.quality": "digital silence",
	}
	for _, r := range Run(context.Background(), p, nil) {
		if r.Status != Fail || !strings.Contains(r.Advice, want[r.CheckID]) {
			t.Errorf("%s: %s %q, advice %q; want fail with %q", r.CheckID, r.Status, r.Error, r.Advice, want[r.CheckID])
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := sess.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := mustSelect(t, "browser.getusermedia.video")[0]
	m := browser.GetUserMedia(ctx, b, browser.Video, browser.GUMConfig{Deny: true})
	r := c.Judge(Subject{Name: "browser"}, m, time.Second, c.Thresholds)
	if r.Status != Fail || !strings.Contains(r.Error, "NotAllowedError") || !strings.HasPrefix(r.Advice, "Permission denied") {
		t.Errorf("denied camera: %s %q, advice %q", r.Status, r.Error, r.Advice)
	}
}

func TestBrowserAdvice(t *testing.T) {
	tests := []struct {
		err  *browser.DOMError
		want string
	}{
		{&browser.DOMError{Name: "NotAllowedError"}, "Permission denied"},
		{&browser.DOMError{Name: "NotFoundError"}, "No such device"},
		{&browser.DOMError{Name: "NotReadableError"}, "busy"},
		{&browser.DOMError{Name: "OverconstrainedError", Constraint: "width"}, `constraint "width"`},
		{&browser.DOMError{Name: "TimeoutError", Op: "getUserMedia(video)"}, "did not open in time"},
		{&browser.DOMError{Name: "TimeoutError", Op: "interop"}, "did not come up in time"},
	}
	for _, tt := range tests {
		if got := DOMExceptionAdvice(tt.err); !strings.Contains(got, tt.want) {
			t.Errorf("%s: %q, want %q in it", tt.err.Name, got, tt.want)
		}
	}
	for code, want := range map[int]string{701: "could not reach", 401: "credentials", 999: "reported error 999"} {
		if got := ICEErrorAdvice(browser.ICECandidateError{ErrorCode: code, ErrorText: "x"}); !strings.Contains(got, want) {
			t.Errorf("%d: %q", code, got)
		}
	}
}

// The devices advice names what is missing, judged from the thresholds
// the result broke: no speaker is not fixed by a microphone.
func TestDevicesAdviceNamesWhatIsMissing(t *testing.T) {
	c := catalogCheck(t, "browser.devices")
	for _, tc := range []struct {
		counts       map[string]float64
		want, absent string
	}{
		{map[string]float64{"audioinput": 1, "videoinput": 1, "audiooutput": 0}, "speakers or a headset", "microphone"},
		{map[string]float64{"audioinput": 0, "videoinput": 1, "audiooutput": 1}, "a microphone", "speakers"},
		{map[string]float64{"audioinput": 0, "videoinput": 0, "audiooutput": 1}, "a microphone and a camera", "speakers"},
	} {
		m := probes.Measurement{Metrics: tc.counts}
		r := c.Judge(Subject{Name: "browser"}, m, time.Millisecond, c.Thresholds)
		advice := c.Advice(r, m)
		if !strings.Contains(advice, tc.want) || strings.Contains(advice, tc.absent) {
			t.Errorf("%v: advice %q, want it to name %q and not %q", tc.counts, advice, tc.want, tc.absent)
		}
	}
}
