package release

import (
	"os"
	"os/exec"
	"testing"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// TestCrossCompile builds every package of the module for macOS and
// Windows, as `make dist` does: the Linux-only code (the ICMP error
// queue, parent-death signals, pidfds) must keep its build-tagged
// fallbacks. One architecture each: build tags follow the OS. go vet
// (tests included) covers the packages with fallbacks whose tests are not
// Linux-only themselves (browser's and cmd/rtcprobe's start processes
// with Linux attributes).
func TestCrossCompile(t *testing.T) {
	testenv.Heavy(t, "two builds of the whole module")
	root, err := ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, goos := range []string{"darwin", "windows"} {
		t.Run(goos, func(t *testing.T) {
			cmd := exec.Command("go", "build", "-o", os.DevNull, "./...")
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH=arm64")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("GOOS=%s go build ./...: %v\n%s", goos, err, out)
			}
			vet := exec.Command("go", "vet", "./probes", "./internal/testkit/netlab", "./internal/testkit/pgtest", "./internal/release/...")
			vet.Dir, vet.Env = root, cmd.Env
			if out, err := vet.CombinedOutput(); err != nil {
				t.Fatalf("GOOS=%s go vet: %v\n%s", goos, err, out)
			}
		})
	}
}
