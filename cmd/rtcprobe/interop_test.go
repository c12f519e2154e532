package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// TestInteropMatrix runs the codec matrix as a CI job does:
// `rtcprobe --checks interop.codec --browsers chromium,firefox --junit F`.
// Three pairs (each browser with pion, Chromium with Firefox), eight
// codecs, two directions: a JUnit test case per cell. Every cell both
// ends support passes (warnings on time only allowed on a loaded
// machine); a codec an end lacks is skipped as not negotiated (Firefox
// without its downloadable OpenH264 has no H.264).
func TestInteropMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium and Firefox for a minute")
	}
	for _, b := range []string{"chromium", "firefox"} {
		if _, _, err := browser.Locate(b); err != nil {
			testenv.Unavailable(t, "%v (%s)", err, browser.HintFor(browser.Engine(b)))
		}
	}
	netlab.DefaultRoute(t) // Firefox gathers no ICE candidates without one
	junit := filepath.Join(t.TempDir(), "interop.xml")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--checks", "interop.codec", "--browsers", "chromium,firefox", "--junit", junit, "--no-color")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	t.Logf("the matrix took %s\n%s", took.Round(100*time.Millisecond), out.String())
	if err != nil {
		t.Fatalf("rtcprobe: %v", err)
	}
	raw, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suites []struct {
			Properties []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Skipped *struct{} `xml:"skipped"`
				Failure *struct{} `xml:"failure"`
				Error   *struct{} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(raw, &suites); err != nil {
		t.Fatal(err)
	}
	cells := map[string]bool{}
	for _, s := range suites.Suites {
		for _, c := range s.Cases {
			if !strings.HasPrefix(c.Name, "interop.codec[") {
				t.Errorf("unexpected test case %q", c.Name)
				continue
			}
			if cells[c.Name] {
				t.Errorf("test case %q twice", c.Name)
			}
			cells[c.Name] = true
			firefoxH264 := strings.Contains(c.Name, "H.264") && strings.Contains(c.Name, "Firefox")
			switch {
			case c.Failure != nil || c.Error != nil:
				t.Errorf("%s failed", c.Name)
			case c.Skipped != nil && !firefoxH264:
				t.Errorf("%s skipped", c.Name)
			}
		}
	}
	if len(cells) != 3*len(browser.MatrixCodecs)*2 {
		t.Errorf("%d test cases, want one per pair, codec and direction (%d)", len(cells), 3*len(browser.MatrixCodecs)*2)
	}
	for _, want := range []string{"VP8 · pion → Chromium", "Opus · Firefox", "G.722 · Chromium", "AV1 · Firefox"} {
		found := false
		for name := range cells {
			found = found || strings.Contains(name, want)
		}
		if !found {
			t.Errorf("no test case names %q: %v", want, cells)
		}
	}
}
