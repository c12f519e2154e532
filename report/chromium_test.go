package report

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// The HTML report opens in a real browser: Chromium parses it and builds
// the summary, the rows and the SVG charts.
func TestHTMLRendersInChromium(t *testing.T) {
	testenv.Heavy(t, "a browser")
	chromium := testenv.LookPath(t, "chromium")
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	var buf bytes.Buffer
	if err := WriteHTML(&buf, fullFixture()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--dump-dom", "file://"+page)
	// The wrapper script starts a process tree: end all of it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	got := string(dom)
	if n := strings.Count(got, "<polyline"); n != 3 {
		t.Errorf("the browser built %d charts, want 3", n)
	}
	for _, want := range []string{`class="band error"`, "browser.devices", "The server wants credentials"} {
		if !strings.Contains(got, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}
}
