package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// EnvBinary names an rtcprobe binary already built for this test run:
// `make test` builds it once and every package that runs the binary uses
// it instead of building its own.
const EnvBinary = "RTCPROBE_TEST_BINARY"

// Binary returns the rtcprobe binary the tests run end to end: the one
// named by $RTCPROBE_TEST_BINARY, else one built now from this module
// (cleanup removes it), with rtcprobe-serve beside it as installed (what
// `rtcprobe serve` runs). For TestMain, before any test runs.
func Binary() (path string, cleanup func(), err error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", nil, fmt.Errorf("$%s: %w", EnvBinary, err)
		}
		return p, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "rtcprobe-test")
	if err != nil {
		return "", nil, err
	}
	if out, err := exec.Command("go", "build", "-o", dir+"/", "github.com/rtcprobe/rtcprobe/cmd/rtcprobe",
		"github.com/rtcprobe/rtcprobe/cmd/rtcprobe-serve").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("go build: %v\n%s", err, out)
	}
	return filepath.Join(dir, "rtcprobe"), func() { os.RemoveAll(dir) }, nil
}
