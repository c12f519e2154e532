package browser

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// One browser of each engine for the whole test binary; each test opens
// its own tabs. Tests that need other launch flags (file-backed devices)
// start their own.
var (
	shared      *Browser
	sharedErr   error
	sharedFx    *Browser
	sharedFxErr error
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	flag.Parse()
	if testing.Short() {
		// make test-short: no browser; the tests that need one skip.
		code := m.Run()
		os.Exit(code)
	}
	if _, err := Find(""); err != nil {
		sharedErr = err
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		shared, sharedErr = Launch(ctx, Config{})
		cancel()
	}
	// Firefox gathers no ICE candidates without a default route: in the
	// loopback-only namespace the tests run in, one that leads nowhere.
	undo := func() {}
	if path, _, err := Locate("firefox"); err != nil {
		sharedFxErr = err
	} else if undo, sharedFxErr = netlab.RouteOut(); sharedFxErr == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		sharedFx, sharedFxErr = Launch(ctx, Config{Path: path})
		cancel()
	}
	code := m.Run()
	for _, b := range []*Browser{shared, sharedFx} {
		if b == nil {
			continue
		}
		if err := b.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "closing the browser:", err)
			code = 1
		}
	}
	if undo != nil {
		undo()
	}
	os.Exit(code)
}

// eachEngine runs f as a subtest per engine, with the binary's browser of
// that engine.
func eachEngine(t *testing.T, f func(t *testing.T, b *Browser)) {
	t.Helper()
	for _, e := range []Engine{Chromium, Firefox} {
		t.Run(string(e), func(t *testing.T) {
			if e == Firefox {
				f(t, sharedFirefox(t))
			} else {
				f(t, sharedBrowser(t))
			}
		})
	}
}

// sharedFirefox returns the binary's Firefox, or skips (fails in CI) when
// there is none.
func sharedFirefox(t testing.TB) *Browser {
	t.Helper()
	testenv.Heavy(t, "Firefox")
	if sharedFxErr != nil {
		testenv.Unavailable(t, "no Firefox: %v (%s)", sharedFxErr, FirefoxInstallHint)
	}
	return sharedFx
}

// sharedBrowser returns the binary's browser, or skips (fails in CI) when
// there is none installed. A browser that is installed but would not
// start is a failure everywhere: that is rtcprobe's launch code at fault
// (or the browser), not a missing tool.
func sharedBrowser(t testing.TB) *Browser {
	t.Helper()
	testenv.Heavy(t, "a browser")
	switch {
	case IsNotFound(sharedErr):
		testenv.Unavailable(t, "no browser: %v (%s)", sharedErr, InstallHint)
	case sharedErr != nil:
		t.Fatalf("the browser is installed but did not start: %v", sharedErr)
	}
	return shared
}

// testCtx bounds a test's browser work.
func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// fixtures generates the file-backed fake devices with ffmpeg (once; they
// are not committed, being large and trivially reproducible): one second
// of black 320x240 video and one second of digital silence.
func fixtures(t testing.TB) (video, audio string) {
	t.Helper()
	ffmpeg := testenv.LookPath(t, "ffmpeg")
	video, _ = filepath.Abs(filepath.Join("testdata", "black.y4m"))
	audio, _ = filepath.Abs(filepath.Join("testdata", "silent.wav"))
	for path, args := range map[string][]string{
		video: {"-f", "lavfi", "-i", "color=c=black:s=320x240:r=15", "-t", "1", "-pix_fmt", "yuv420p"},
		audio: {"-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "1", "-c:a", "pcm_s16le"},
	} {
		if _, err := os.Stat(path); err == nil {
			continue
		}
		cmd := exec.Command(ffmpeg, append(append([]string{"-y", "-loglevel", "error"}, args...), path)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %s: %v\n%s", filepath.Base(path), err, out)
		}
	}
	return video, audio
}

// childEnv (the browser's path) makes the test binary a process that
// launches a browser,
// prints its PID and profile directory, and closes it on SIGINT/SIGTERM,
// as rtcprobe does, so a test can signal it and look for leftovers.
const childEnv = "RTCPROBE_BROWSER_TEST_CHILD"

func runChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b, err := Launch(ctx, Config{Path: os.Getenv(childEnv)})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println(b.PID(), b.ProfileDir(), b.tmpDir)
	<-ctx.Done()
	if err := b.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
		return 1
	}
	return 0
}

// checkGoroutines is testenv.CheckGoroutines, the browsers' kept tabs
// closed first: they outlive a test by design.
func checkGoroutines(t *testing.T, bs ...*Browser) {
	t.Helper()
	testenv.CheckGoroutines(t)
	t.Cleanup(func() {
		for _, b := range bs {
			b.tabs.closeIdle()
		}
	})
}
