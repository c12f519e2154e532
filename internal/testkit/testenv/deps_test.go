package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// installDeps runs the install script over a package list in dry-run mode:
// it resolves with the real apt-get and says what it would install.
func installDeps(t *testing.T, list string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("apt-get"); err != nil {
		Unavailable(t, "apt-get not found: the install script is for Debian")
	}
	path := filepath.Join(t.TempDir(), "packages.txt")
	if err := os.WriteFile(path, []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("./install-deps", path)
	cmd.Env = append(os.Environ(), "DEPS_DRY_RUN=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestInstallDepsAsksOnlyForWhatIsMissing(t *testing.T) {
	out, err := installDeps(t, "# a comment\niproute2 ip\ncoturn /nonexistent/turnserver\n")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "would install coturn (missing: /nonexistent/turnserver)") {
		t.Errorf("coturn's tool is missing, so it should be installed, and nothing else:\n%s", out)
	}
	if !strings.Contains(out, "2 packages resolve") {
		t.Errorf("the whole list should be resolved, present packages too:\n%s", out)
	}
}

// Debian's nodejs and npm conflict with the NodeSource Node this kind of
// machine comes with: asking for them must fail before anything is
// installed, naming the package.
func TestInstallDepsFailsLoudlyOnAConflict(t *testing.T) {
	ver, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "nodejs").Output()
	if err != nil || !strings.Contains(string(ver), "nodesource") {
		t.Skipf("this machine's nodejs is not NodeSource's (%q), so Debian's does not conflict with it", ver)
	}
	out, err := installDeps(t, "coturn turnserver\nnodejs /nonexistent/node\nnpm /nonexistent/npm\n")
	if err == nil {
		t.Fatalf("a conflicting list resolved:\n%s", out)
	}
	if !strings.Contains(out, "do not resolve together") || !strings.Contains(out, "nodejs :") {
		t.Errorf("the failure should name the conflicting package:\n%s", out)
	}
	if strings.Contains(out, "would install") {
		t.Errorf("nothing may be installed after a failed resolution:\n%s", out)
	}
}

// The project's own list resolves on this machine, whatever is installed.
func TestDebianPackageListResolves(t *testing.T) {
	list, err := os.ReadFile("debian-packages.txt")
	if err != nil {
		t.Fatal(err)
	}
	out, err := installDeps(t, string(list))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
