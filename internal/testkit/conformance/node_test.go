package conformance

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// startNode runs one of the server scripts in node/ on loopback and
// returns the port it printed ("listening PORT"). The packages come from
// `npm ci` (make node-deps); without them the test skips, or fails in CI.
func startNode(t *testing.T, script string, args ...string) int {
	t.Helper()
	node := testenv.LookPath(t, "node")
	dir, err := filepath.Abs("node")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err != nil {
		testenv.Unavailable(t, "the Node servers are not installed: run `make node-deps` (npm ci in %s)", dir)
	}
	cmd := exec.Command(node, append([]string{script}, args...)...)
	cmd.Dir = dir
	p := netlab.StartProcess(t, cmd, 10*time.Second)
	port, err := strconv.Atoi(strings.TrimPrefix(p.Ready, "listening "))
	if err != nil {
		t.Fatalf("%s printed %q, want \"listening PORT\"", script, p.Ready)
	}
	return port
}
