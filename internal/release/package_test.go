package release

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

const testVersion = "v9.8.7-test"

var (
	pkgOnce          sync.Once
	pkgDir, pkgErr   = "", error(nil)
	debFile, rpmFile string
)

// packages builds the binary for this machine's architecture once and
// packages it as .deb and .rpm, as `make dist` does.
func packages(t *testing.T) (deb, rpm string) {
	t.Helper()
	testenv.Heavy(t, "a build of the binary and its packages")
	pkgOnce.Do(func() {
		root, err := ModuleRoot(".")
		if err != nil {
			pkgErr = err
			return
		}
		if pkgDir, pkgErr = os.MkdirTemp("", "rtcprobe-pkg-test-"); pkgErr != nil {
			return
		}
		tg := Target{"linux", runtime.GOARCH}
		bin := filepath.Join(pkgDir, "bin")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if pkgErr = Build(ctx, root, tg, testVersion, bin); pkgErr != nil {
			return
		}
		mtime := time.Unix(1700000000, 0).UTC()
		if debFile, pkgErr = Package(root, "deb", tg, testVersion, bin, pkgDir, mtime); pkgErr != nil {
			return
		}
		rpmFile, pkgErr = Package(root, "rpm", tg, testVersion, bin, pkgDir, mtime)
	})
	if pkgErr != nil {
		t.Fatal(pkgErr)
	}
	return debFile, rpmFile
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pkgDir != "" {
		os.RemoveAll(pkgDir)
	}
	os.Exit(code)
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestDebPackage unpacks the .deb into a throw-away root (never the
// machine's own) and checks what dpkg would install: the files and their
// modes, the conffile, the maintainer scripts, the control fields; then
// runs the installed binary (its stamped version, the default config
// validates) and has systemd judge the unit as installed.
func TestDebPackage(t *testing.T) {
	dpkgDeb := testenv.LookPath(t, "dpkg-deb")
	deb, _ := packages(t)
	root, ctrl := t.TempDir(), t.TempDir()
	run(t, dpkgDeb, "-x", deb, root)
	run(t, dpkgDeb, "-e", deb, ctrl)

	for _, f := range []struct {
		path string
		mode os.FileMode
	}{{BinaryPath, 0o755}, {BinDir + "/rtcprobe-serve", 0o755}, {UnitPath, 0o644}, {ConfigPath, 0o644}} {
		st, err := os.Stat(filepath.Join(root, f.path))
		if err != nil {
			t.Errorf("not installed: %v", err)
			continue
		}
		if st.Mode().Perm() != f.mode {
			t.Errorf("%s: mode %v, want %v", f.path, st.Mode().Perm(), f.mode)
		}
	}
	// Owned by root, whoever built it.
	if list := run(t, dpkgDeb, "-c", deb); strings.Count(list, "root/root") != strings.Count(strings.TrimSpace(list), "\n")+1 {
		t.Errorf("entries not owned by root/root:\n%s", list)
	}
	if got := readFile(t, filepath.Join(ctrl, "conffiles")); strings.TrimSpace(got) != ConfigPath {
		t.Errorf("conffiles = %q, want %s: an upgrade would overwrite the admin's config", got, ConfigPath)
	}
	control := readFile(t, filepath.Join(ctrl, "control"))
	for _, want := range []string{"Package: rtcprobe", "Version: 9.8.7.test-1", "Architecture: " + runtime.GOARCH, "Section: net"} {
		if !strings.Contains(control, want) {
			t.Errorf("control lacks %q:\n%s", want, control)
		}
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		p := filepath.Join(ctrl, s)
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm()&0o111 == 0 {
			t.Errorf("maintainer script %s missing or not executable: %v", s, err)
			continue
		}
		run(t, "sh", "-n", p) // parses
		body := regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(readFile(t, p), "")
		// The scripts never create users (DynamicUser=yes) and never
		// start the service on install: the admin lists targets first.
		if regexp.MustCompile(`useradd|adduser|systemctl (enable|start)`).MatchString(body) {
			t.Errorf("%s creates a user or starts the service:\n%s", s, body)
		}
	}

	bin := filepath.Join(root, BinaryPath)
	if out := run(t, bin, "--version"); !strings.Contains(out, testVersion) {
		t.Errorf("%s --version = %q, want the stamped %s", BinaryPath, out, testVersion)
	}
	if out := run(t, bin, "validate", "--config", filepath.Join(root, ConfigPath)); !strings.Contains(out, "valid") {
		t.Errorf("the default config does not validate:\n%s", out)
	}

	unit := readFile(t, filepath.Join(root, UnitPath))
	for _, want := range []string{"ExecStart=" + BinaryPath + " serve --config " + ConfigPath + " --db /var/lib/rtcprobe/rtcprobe.db",
		"DynamicUser=yes", "StateDirectory=rtcprobe", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
		"PrivateTmp=yes", "CapabilityBoundingSet=\n", "SystemCallFilter=@system-service",
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK"} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q", want)
		}
	}
	verifyUnit(t, root)
}

// verifyUnit runs systemd-analyze on the unit inside root: verify (any
// complaint fails, since it exits 0 on unknown keys) and the offline
// security review, whose exposure must stay low.
func verifyUnit(t *testing.T, root string) {
	analyze := testenv.LookPath(t, "systemd-analyze")
	// The targets and slices the unit's default dependencies name, and the
	// kill(1) of ExecReload, as the machine has them.
	units := filepath.Join(root, "usr/lib/systemd/system")
	for _, glob := range []string{"/usr/lib/systemd/system/*.target", "/usr/lib/systemd/system/*.slice"} {
		matches, _ := filepath.Glob(glob)
		for _, m := range matches {
			copyFile(t, m, filepath.Join(units, filepath.Base(m)), 0o644)
		}
	}
	kill, err := exec.LookPath("kill")
	if err != nil {
		t.Fatal(err)
	}
	copyFile(t, kill, filepath.Join(root, "bin/kill"), 0o755)

	out, err := exec.Command(analyze, "verify", "--root="+root, UnitPath).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(analyze, "security", "--offline=yes", "--root="+root, "rtcprobe.service").CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for rtcprobe.service: ([0-9.]+)`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 1.5 {
		t.Errorf("exposure level %.1f, want at most 1.5 (1.2 when written; systemd calls up to 2.0 OK):\n%s", level, out)
	}
}

// TestRPMPackage reads the .rpm back with rpm(8) (queries only: nothing
// is installed): the files with modes and owners, the config file kept
// on upgrade, the scriptlets, the version.
func TestRPMPackage(t *testing.T) {
	rpmBin := testenv.LookPath(t, "rpm")
	_, rpm := packages(t)
	q := func(args ...string) string { return run(t, rpmBin, append([]string{"-qp"}, append(args, rpm)...)...) }
	if got := strings.TrimSpace(q("--queryformat", "%{NAME} %{VERSION} %{RELEASE} %{ARCH}")); got != "rtcprobe 9.8.7.test 1 "+map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH] {
		t.Errorf("name version release arch = %q", got)
	}
	list := q("--queryformat", `[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]`)
	for _, want := range []string{"-rwxr-xr-x root:root " + BinaryPath, "-rwxr-xr-x root:root " + BinDir + "/rtcprobe-serve", "-rw-r--r-- root:root " + UnitPath, "-rw-r--r-- root:root " + ConfigPath} {
		if !strings.Contains(list, want+"\n") {
			t.Errorf("rpm lacks %q:\n%s", want, list)
		}
	}
	// %config(noreplace): flag 1 is config, 16 noreplace.
	flags := q("--queryformat", `[%{FILEFLAGS} %{FILENAMES}\n]`)
	if !strings.Contains(flags, "17 "+ConfigPath+"\n") {
		t.Errorf("%s is not %%config(noreplace):\n%s", ConfigPath, flags)
	}
	scripts := q("--scripts")
	for _, want := range []string{"postinstall scriptlet", "preuninstall scriptlet", "postuninstall scriptlet", "systemctl daemon-reload"} {
		if !strings.Contains(scripts, want) {
			t.Errorf("scriptlets lack %q:\n%s", want, scripts)
		}
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}
