package browser

import (
	"bufio"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/probes"
)

func TestFind(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "chromium")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	tests := []struct {
		name, explicit, env, path string
		want                      string
		wantErr                   string
	}{
		{name: "on PATH", path: dir, want: fake},
		{name: "nothing on PATH", path: empty, wantErr: "no Chrome/Chromium found (looked for chromium, chromium-browser"},
		{name: "env var", env: fake, path: empty, want: fake},
		{name: "flag wins over env", explicit: fake, env: "/nonexistent/chrome", path: empty, want: fake},
		{name: "named but missing", explicit: "/nonexistent/chrome", path: dir, wantErr: `browser "/nonexistent/chrome" not usable`},
		{name: "env names a missing binary", env: "/nonexistent/chrome", path: dir, wantErr: `browser "/nonexistent/chrome" not usable`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PATH", tt.path)
			t.Setenv(EnvBrowser, tt.env)
			got, err := Find(tt.explicit)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !IsNotFound(err) {
					t.Fatalf("Find() = %q, %v; want a NotFoundError containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Find() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// waitGone waits until running lists no process (they exit on their own
// schedule after a kill and are not this process's children).
func waitGone(t *testing.T, running func() []int, within time.Duration) {
	t.Helper()
	waitExited(running(), within)
	if left := running(); len(left) > 0 {
		t.Fatalf("browser processes %v still running", left)
	}
}

func TestCloseLeavesNothing(t *testing.T) {
	eachEngine(t, func(t *testing.T, shared *Browser) {
		b, err := Launch(testCtx(t, 30*time.Second), Config{Path: shared.Path()})
		if err != nil {
			t.Fatal(err)
		}
		dir, pid, tmp := b.ProfileDir(), b.PID(), b.tmpDir
		if dir == "" || pid == 0 {
			t.Fatalf("profile dir %q, pid %d: want both", dir, pid)
		}
		if len(b.processes()) < 2 {
			t.Fatalf("expected the browser and its children to run, found %v", b.processes())
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if err := b.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if left := b.processes(); len(left) > 0 {
			t.Errorf("processes left after Close: %v", left)
		}
		for _, d := range []string{dir, tmp} {
			if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s still there after Close (stat: %v)", d, err)
			}
		}
	})
}

// processes lists the browser's processes: Chrome passes --user-data-dir
// to every child process, Firefox's run in its process group.
func (b *Browser) processes() []int {
	return browserProcesses(b.engine, b.pid, b.profileDir)
}

func browserProcesses(e Engine, pid int, profile string) []int {
	if e == Firefox {
		return groupMembers(pid)
	}
	return processesUsing(profile)
}

// TestSignalLeavesNoOrphans runs a process that holds a browser, as
// rtcprobe does, and signals it: on Ctrl-C it must close the browser and
// remove the profile; killed outright, the kernel's parent-death signal
// must still take the browser down.
func TestSignalLeavesNoOrphans(t *testing.T) {
	eachEngine(t, func(t *testing.T, shared *Browser) {
		for _, tt := range []struct {
			name       string
			sig        syscall.Signal
			dirRemoved bool
		}{
			{"interrupt", syscall.SIGINT, true},
			{"terminate", syscall.SIGTERM, true},
			{"kill", syscall.SIGKILL, false}, // nobody is left to remove the directory
		} {
			t.Run(tt.name, func(t *testing.T) {
				// A short TMPDIR of the test's own (t.TempDir() is too long for
				// Chrome's socket path).
				base, err := os.MkdirTemp("/tmp", "rp-sig-")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = os.RemoveAll(base) })
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), childEnv+"="+shared.Path(), "TMPDIR="+base)
				out, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
				line, err := bufio.NewReader(out).ReadString('\n')
				if err != nil {
					t.Fatalf("child: %v", err)
				}
				fields := strings.Fields(line)
				if len(fields) != 3 {
					t.Fatalf("child said %q", line)
				}
				pid, _ := strconv.Atoi(fields[0])
				dir, run := fields[1], fields[2]
				if pid == 0 {
					t.Fatalf("child said %q", line)
				}
				running := func() []int { return browserProcesses(shared.Engine(), pid, dir) }
				if len(running()) == 0 {
					t.Fatalf("no browser running with %s", dir)
				}
				if err := cmd.Process.Signal(tt.sig); err != nil {
					t.Fatal(err)
				}
				err = cmd.Wait()
				if tt.sig != syscall.SIGKILL && err != nil {
					t.Fatalf("child did not exit cleanly: %v", err)
				}
				waitGone(t, running, 10*time.Second)
				_, statErr := os.Stat(dir)
				if tt.dirRemoved && !errors.Is(statErr, os.ErrNotExist) {
					t.Errorf("profile %s left behind (stat: %v)", dir, statErr)
				}
				if !tt.dirRemoved {
					// Nobody was left to remove it: the next run does.
					if _, err := os.Stat(run); err != nil {
						t.Fatalf("the killed run's directory %s is not there to clean up: %v", run, err)
					}
					t.Setenv("TMPDIR", base)
					next, err := Launch(testCtx(t, 40*time.Second), Config{Path: shared.Path()})
					if err != nil {
						t.Fatal(err)
					}
					defer next.Close()
					if _, err := os.Stat(run); !errors.Is(err, os.ErrNotExist) {
						t.Errorf("the next run left the killed run's %s (stat: %v)", run, err)
					}
				}
			})
		}
	})
}

// metric returns a metric or fails the test when it is missing.
func metric(t *testing.T, m probes.Measurement, name string) float64 {
	t.Helper()
	v, ok := m.Metrics[name]
	if !ok {
		t.Fatalf("metric %s missing; have %v (err %v)", name, m.Metrics, m.Err)
	}
	return v
}

func TestPageChecks(t *testing.T) {
	eachEngine(t, func(t *testing.T, b *Browser) {
		type want struct {
			metric string
			min    float64
			max    float64
		}
		// Firefox's synthetic camera draws a still colour; Chrome's a moving pattern.
		video := []want{{"black_frames_pct", 0, 0}, {"frozen_frames_pct", 0, 20}, {"fps", 5, 61}, {"luma_mean", BlackLuma, 255}}
		if b.Engine() == Firefox {
			video = []want{{"black_frames_pct", 0, 0}, {"still_frames_pct", 50, 100}, {"fps", 5, 61}, {"luma_mean", BlackLuma, 255}}
		}
		tests := []struct {
			name string
			run  func() probes.Measurement
			want []want
		}{
			{"api", func() probes.Measurement { return API(testCtx(t, 10*time.Second), b) }, []want{
				{"peerconnection", 1, 1}, {"getusermedia", 1, 1}, {"datachannel", 1, 1}, {"getcapabilities", 1, 1},
				{"secure_context", 1, 1}, {"missing_apis", 0, 0}, {"version_major", 100, 1000}, {"outdated_versions", 0, 0}}},
			{"devices", func() probes.Measurement { return Devices(testCtx(t, 10*time.Second), b) }, []want{
				{"audioinput", 1, 10}, {"videoinput", 1, 10}}},
			{"getusermedia audio", func() probes.Measurement { return GetUserMedia(testCtx(t, 10*time.Second), b, Audio, GUMConfig{}) }, []want{
				{"first_sample_ms", 0.001, 3000}, {"gum_ms", 0, 3000}, {"channels", 1, 2}}},
			{"getusermedia video", func() probes.Measurement { return GetUserMedia(testCtx(t, 10*time.Second), b, Video, GUMConfig{}) }, []want{
				{"first_frame_ms", 0.001, 3000}, {"width", 160, 4096}, {"height", 120, 4096}, {"frame_rate", 1, 120}}},
			{"resolutions", func() probes.Measurement { return CaptureResolutions(testCtx(t, 10*time.Second), b) }, []want{
				// The synthetic cameras scale to any size.
				{"resolutions", 4, 4}, {"res_1920x1080", 1, 1}}},
			{"codecs", func() probes.Measurement { return Codecs(testCtx(t, 10*time.Second), b) }, []want{
				{"vp8", 1, 1}, {"vp9", 1, 1}, {"opus", 1, 1}, {"pcmu", 1, 1}, {"pcma", 1, 1}}},
			{"video quality", func() probes.Measurement { return VideoQuality(testCtx(t, 10*time.Second), b, QualityConfig{}) }, video},
			// The synthetic microphones beep or hum.
			{"audio quality", func() probes.Measurement { return AudioQuality(testCtx(t, 10*time.Second), b, QualityConfig{}) }, []want{
				{"peak_dbfs", -30, 0}, {"rms_dbfs", -60, 0}, {"silent_pct", 0, 99.9}}},
			{"loopback", func() probes.Measurement { return Loopback(testCtx(t, 10*time.Second), b, LoopbackConfig{}) }, []want{
				{"frames_decoded", 1, 1e6}, {"fps", 1, 61}, {"video_kbps", 10, 1e5}, {"rtt_ms", 0, 500}}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				holdTab(t)
				m := tt.run()
				if m.Err != nil {
					t.Fatalf("error: %v (evidence %v)", m.Err, m.Evidence)
				}
				for _, w := range tt.want {
					if v := metric(t, m, w.metric); v < w.min || v > w.max {
						t.Errorf("%s = %g, want %g..%g", w.metric, v, w.min, w.max)
					}
				}
				if name := map[Engine]string{Chromium: "Chrome/", Firefox: "Firefox/"}[b.Engine()]; !hasEvidence(m, "browser", name) {
					t.Errorf("evidence does not name the browser: %v", m.Evidence)
				}
			})
		}
	})
}

func TestPermissionDenied(t *testing.T) {
	b := sharedBrowser(t)
	for _, kind := range []Kind{Audio, Video} {
		t.Run(string(kind), func(t *testing.T) {
			m := GetUserMedia(testCtx(t, 10*time.Second), b, kind, GUMConfig{Deny: true})
			var dom *DOMError
			if !errors.As(m.Err, &dom) || dom.Name != "NotAllowedError" {
				t.Fatalf("err = %v, want a NotAllowedError", m.Err)
			}
			if !strings.Contains(dom.Op, "getUserMedia("+string(kind)+")") {
				t.Errorf("op = %q", dom.Op)
			}
			if !hasEvidence(m, "console.error", "NotAllowedError") {
				t.Errorf("console error not captured: %v", m.Evidence)
			}
		})
	}
	// The denial stays in its own browser context: others still capture.
	if m := GetUserMedia(testCtx(t, 10*time.Second), b, Video, GUMConfig{}); m.Err != nil {
		t.Fatalf("after a denial elsewhere: %v", m.Err)
	}
	// Firefox's WebDriver BiDi cannot deny capture to one tab: says so.
	m := GetUserMedia(testCtx(t, 10*time.Second), sharedFirefox(t), Video, GUMConfig{Deny: true})
	if !errors.Is(m.Err, probes.ErrUnsupported) {
		t.Errorf("Firefox denial: err = %v, want unsupported", m.Err)
	}
}

func hasEvidence(m probes.Measurement, name, contains string) bool {
	for _, e := range m.Evidence {
		if e.Name == name && strings.Contains(e.Value, contains) {
			return true
		}
	}
	return false
}

// TestFileBackedDevices proves the detectors: a black clip must be black
// and frozen, a silent file silent.
func TestFileBackedDevices(t *testing.T) {
	sharedBrowser(t)
	video, audio := fixtures(t)
	b, err := Launch(testCtx(t, 30*time.Second), Config{FakeVideoFile: video, FakeAudioFile: audio})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	vq := VideoQuality(testCtx(t, 10*time.Second), b, QualityConfig{})
	if vq.Err != nil {
		t.Fatal(vq.Err)
	}
	if v := metric(t, vq, "black_frames_pct"); v != 100 {
		t.Errorf("black_frames_pct = %g, want 100", v)
	}
	if v := metric(t, vq, "frozen_frames_pct"); v < 90 {
		t.Errorf("frozen_frames_pct = %g, want ≥ 90", v)
	}
	if v := metric(t, vq, "luma_mean"); v >= BlackLuma {
		t.Errorf("luma_mean = %g, want < %d", v, BlackLuma)
	}
	aq := AudioQuality(testCtx(t, 10*time.Second), b, QualityConfig{})
	if aq.Err != nil {
		t.Fatal(aq.Err)
	}
	if v := metric(t, aq, "peak_dbfs"); v != FloorDBFS {
		t.Errorf("peak_dbfs = %g, want %d (digital silence)", v, FloorDBFS)
	}
	if v := metric(t, aq, "silent_pct"); v != 100 {
		t.Errorf("silent_pct = %g, want 100", v)
	}
}

func TestICE(t *testing.T) {
	eachEngine(t, testICE)
}

func testICE(t *testing.T, b *Browser) {
	srv, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() }) // after the parallel subtests
	stunSrv, turnSrv := srv.Servers()[0], srv.Servers()[1]
	badPass := turnSrv
	badPass.Password = "wrong-pass-never-shown"
	closed := mustServer(t, "turn:127.0.0.1:"+strconv.Itoa(closedPort(t)))
	closed.Username, closed.Password = "u", "closed-pass-never-shown"
	tests := []struct {
		name      string
		target    probes.Target
		wantRelay float64
		wantErr   bool
	}{
		{"stun", probes.Target{Server: stunSrv, Transport: probes.UDP}, -1, false},
		{"turn udp", probes.Target{Server: turnSrv, Transport: probes.UDP}, 1, false},
		{"turn tcp", probes.Target{Server: turnSrv, Transport: probes.TCP}, 1, false},
		{"wrong password", probes.Target{Server: badPass, Transport: probes.UDP}, 0, true},
		{"nothing listening", probes.Target{Server: closed, Transport: probes.TCP}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			holdTab(t)
			m := ICE(testCtx(t, 10*time.Second), b, tt.target, ICEConfig{})
			if m.Err != nil {
				t.Fatal(m.Err)
			}
			if v := metric(t, m, "host"); v < 1 {
				t.Errorf("host = %g, want ≥ 1", v)
			}
			if tt.wantRelay < 0 {
				if _, ok := m.Metrics["relay"]; ok {
					t.Errorf("relay reported for a STUN server")
				}
			} else if v := metric(t, m, "relay"); (v > 0) != (tt.wantRelay > 0) {
				// A relay per host address the browser has: one per interface.
				t.Errorf("relay = %g, want %s (evidence %v)", v, map[bool]string{true: "≥ 1", false: "0"}[tt.wantRelay > 0], m.Evidence)
			}
			failed := metric(t, m, "errors") > 0 || metric(t, m, "complete") == 0
			if failed != tt.wantErr {
				t.Errorf("errors/incomplete = %v, want %v (evidence %v)", failed, tt.wantErr, m.Evidence)
			}
			for _, e := range m.Evidence {
				for _, secret := range []string{turnSrv.Password, badPass.Password, closed.Password} {
					if strings.Contains(e.Value, secret) {
						t.Fatalf("evidence leaks a TURN password: %v", e)
					}
				}
			}
		})
	}
}

// closedPort returns a TCP port nothing listens on (Chrome refuses some
// well-known ones, such as 9, without trying).
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return port
}

func mustServer(t *testing.T, uri string) probes.Server {
	t.Helper()
	s, err := probes.ParseServer(uri)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestInterop(t *testing.T) {
	eachEngine(t, testInterop)
}

func testInterop(t *testing.T, b *Browser) {
	checkGoroutines(t, b)
	srv, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	turnSrv := srv.Servers()[1]
	tests := []struct {
		name  string
		relay *probes.Target
	}{
		{"all candidates", nil},
		{"relay-only udp", &probes.Target{Server: turnSrv, Transport: probes.UDP}},
		{"relay-only tcp", &probes.Target{Server: turnSrv, Transport: probes.TCP}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Interop(testCtx(t, 15*time.Second), b, InteropConfig{Relay: tt.relay, Duration: time.Second})
			if m.Err != nil {
				t.Fatalf("%v (evidence %v)", m.Err, m.Evidence)
			}
			for _, name := range []string{"pion_video_frames", "pion_audio_packets", "chrome_frames_decoded", "chrome_audio_packets"} {
				if v := metric(t, m, name); v < 1 {
					t.Errorf("%s = %g: media did not flow", name, v)
				}
			}
			if v := metric(t, m, "dc_lost"); v != 0 {
				t.Errorf("dc_lost = %g", v)
			}
			if tt.relay != nil {
				if v := metric(t, m, "relayed"); v != 1 {
					t.Errorf("relayed = %g; evidence %v", v, m.Evidence)
				}
			}
			for _, ev := range []string{"browser→pion video", "pion→browser video"} {
				if !hasEvidence(m, ev, "VP8") {
					t.Errorf("no negotiated codec in %q evidence: %v", ev, m.Evidence)
				}
			}
			// The browser decoded pion's own clip, not its own camera (640x480).
			if !hasEvidence(m, "pion→browser video", "320x240") {
				t.Errorf("the browser did not decode the 320x240 clip: %v", m.Evidence)
			}
			t.Logf("connected in %.0f ms", metric(t, m, "connected_ms"))
		})
	}
}

func TestUnknownPageCheck(t *testing.T) {
	eachEngine(t, func(t *testing.T, b *Browser) {
		ev, err := b.call(testCtx(t, 10*time.Second), Task{Name: "nosuch"}, nil, permissionDefault)
		var dom *DOMError
		if !errors.As(err, &dom) || !strings.Contains(dom.Message, "no such check") {
			t.Fatalf("err = %v", err)
		}
		// The page's console.error reached the evidence.
		if !hasEvidence(probes.Measurement{Evidence: ev}, "console.error", "no such check") {
			t.Errorf("console not captured: %v", ev)
		}
	})
}

func TestCheckDeadline(t *testing.T) {
	eachEngine(t, func(t *testing.T, b *Browser) {
		start := time.Now()
		m := VideoQuality(testCtx(t, 300*time.Millisecond), b, QualityConfig{Duration: 5 * time.Second})
		var te *StepTimeoutError
		if !errors.As(m.Err, &te) {
			t.Fatalf("err = %v, want a StepTimeoutError", m.Err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("took %s to honour a 300 ms deadline", took)
		}
	})
}

// TestConsoleCapture: console messages and uncaught exceptions of a tab
// become evidence.
func TestConsoleCapture(t *testing.T) {
	b := sharedBrowser(t)
	tab, cancel := chromedp.NewContext(b.ctx)
	defer cancel()
	var con console
	if err := chromedp.Listen(tab, con.listen); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab, chromedp.Navigate(b.Origin()+"/index.html")); err != nil {
		t.Fatal(err)
	}
	// The exception is thrown from a timer, so nothing catches it.
	script := `console.warn("careful", 42); setTimeout(() => { throw new Error("boom") }, 0); true`
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](script)); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"console.warning": "careful 42", "exception": "boom"}
	deadline := time.Now().Add(5 * time.Second)
	for {
		found := 0
		for name, text := range want {
			if hasEvidence(probes.Measurement{Evidence: con.evidence()}, name, text) {
				found++
			}
		}
		if found == len(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("captured %v, want %v", con.evidence(), want)
		}
		time.Sleep(20 * time.Millisecond) // events arrive on the tab's reader goroutine
	}
}

// TestInteropDeadline: a call cut short by its deadline reports a timeout
// and leaves no pion connection or goroutine behind.
func TestInteropDeadline(t *testing.T) {
	eachEngine(t, testInteropDeadline)
}

func testInteropDeadline(t *testing.T, b *Browser) {
	checkGoroutines(t, b)
	for _, d := range []time.Duration{150 * time.Millisecond, 400 * time.Millisecond} {
		m := Interop(testCtx(t, d), b, InteropConfig{})
		var te *StepTimeoutError
		if !errors.As(m.Err, &te) {
			t.Fatalf("deadline %s: err = %v, want a StepTimeoutError", d, m.Err)
		}
	}
}

// tabs lets two page checks run at once, whatever -parallel says: each
// drives a real camera pipeline, and more at once on two cores starve
// the deadlines they are judged by.
var tabs = make(chan struct{}, 2)

// holdTab waits for one of the tabs and gives it back when t ends.
func holdTab(t *testing.T) {
	t.Helper()
	tabs <- struct{}{}
	t.Cleanup(func() { <-tabs })
}
