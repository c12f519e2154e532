package release

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// TestUnitCommandServes runs the unit's ExecStart from the unpacked .deb,
// its paths moved into the throw-away root and its address to a free
// loopback port: the packaged config starts serve, which reports ready,
// keeps its database where StateDirectory= puts it, and refuses a target
// the default config does not list (nothing is probed until the admin
// lists servers).
func TestUnitCommandServes(t *testing.T) {
	dpkgDeb := testenv.LookPath(t, "dpkg-deb")
	deb, _ := packages(t)
	root := t.TempDir()
	run(t, dpkgDeb, "-x", deb, root)
	m := regexp.MustCompile(`(?m)^ExecStart=(.*)$`).FindStringSubmatch(readFile(t, filepath.Join(root, UnitPath)))
	if m == nil {
		t.Fatal("no ExecStart in the unit")
	}
	args := strings.Fields(m[1])
	state := filepath.Join(root, "var/lib/rtcprobe") // StateDirectory=rtcprobe
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	for i, a := range args {
		switch {
		case strings.HasPrefix(a, "/"):
			args[i] = filepath.Join(root, a)
		case i > 0 && args[i-1] == "--listen":
			args[i] = "127.0.0.1:0"
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = []string{"PATH=/usr/bin:/bin"} // systemd's environment is nearly empty
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	addr := ""
	sc := bufio.NewScanner(stderr)
	for addr == "" && sc.Scan() {
		if m := regexp.MustCompile(`msg=listening address=(\S+)`).FindStringSubmatch(sc.Text()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("serve did not start: %v", sc.Err())
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/-/ready"); code != 200 {
		t.Errorf("/-/ready: %d %s", code, body)
	}
	if _, err := os.Stat(filepath.Join(state, "rtcprobe.db")); err != nil {
		t.Errorf("no database in the state directory: %v", err)
	}
	if code, body := get("/probe?module=stun_udp&target=stun:127.0.0.1:3478"); code != 403 {
		t.Errorf("/probe of a target the default config does not list: %d, want 403\n%s", code, body)
	}
}
