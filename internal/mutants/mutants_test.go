//go:build mutants

package mutants

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testenv"
)

// TestMutants builds each mutant in turn through `go test -overlay` (the
// tree is never modified) and requires that the tests named for it fail.
// First the same tests must pass on the code as it is: a test that fails
// anyway would "catch" every mutant.
func TestMutants(t *testing.T) {
	goBin := testenv.LookPath(t, "go")
	dir := root(t)
	// The unmutated baseline: each package's catching tests in one run.
	tops, subs := map[string][]string{}, map[string][]string{}
	for _, m := range mutants {
		top, sub, _ := strings.Cut(m.Run, "/")
		tops[m.Pkg] = append(tops[m.Pkg], strings.Trim(top, "^$"))
		if sub != "" {
			subs[m.Pkg] = append(subs[m.Pkg], strings.Trim(sub, "^$"))
		}
	}
	pkgs := make([]string, 0, len(tops))
	for p := range tops {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, pkg := range pkgs {
		run := "^(" + strings.Join(unique(tops[pkg]), "|") + ")$"
		if len(subs[pkg]) > 0 {
			run += "/^(" + strings.Join(unique(subs[pkg]), "|") + ")$"
		}
		start := time.Now()
		out, err := goTest(t, goBin, dir, "", pkg, run)
		if err != nil {
			t.Fatalf("the catching tests of %s fail without any mutant: %v\n%s", pkg, err, out)
		}
		t.Logf("baseline: %s -run %q passes (%s)", pkg, run, time.Since(start).Round(time.Second))
	}

	var escaped []string
	for _, m := range mutants {
		overlay := writeOverlay(t, dir, m)
		start := time.Now()
		out, err := goTest(t, goBin, dir, overlay, m.Pkg, m.Run, "RTCPROBE_TRUTH_ATTEMPTS=1")
		switch {
		case strings.Contains(out, "[build failed]") || strings.Contains(out, "[setup failed]"):
			t.Errorf("mutant %q does not build:\n%s", m.Name, out)
		case err == nil:
			escaped = append(escaped, m.Name)
			t.Errorf("mutant %q escaped: %s -run %q passed with it", m.Name, m.Pkg, m.Run)
		case !strings.Contains(out, "--- FAIL"):
			t.Errorf("mutant %q: go test failed without a failing test (%v):\n%s", m.Name, err, out)
		default:
			t.Logf("caught %-60q by %s in %s:%s", m.Name, m.Run, time.Since(start).Round(time.Second), firstFailure(out))
		}
	}
	t.Logf("%d mutants, %d escaped %v", len(mutants), len(escaped), escaped)
}

// goTest runs `go test` on pkg with the tests matching run, without the
// race detector (the mutants are about numbers), with overlay if set and
// env added to the environment.
func goTest(t *testing.T, goBin, dir, overlay, pkg, run string, env ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	args := []string{"test", "-count=1", "-failfast", "-run", run}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	cmd := exec.CommandContext(ctx, goBin, append(args, pkg)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// writeOverlay writes the mutated file and the overlay naming it.
func writeOverlay(t *testing.T, dir string, m mutant) string {
	t.Helper()
	tmp := t.TempDir()
	mutated := filepath.Join(tmp, filepath.Base(m.File))
	if err := os.WriteFile(mutated, []byte(m.mutate(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(filepath.Join(dir, m.File))
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(map[string]map[string]string{"Replace": {abs: mutated}})
	if err != nil {
		t.Fatal(err)
	}
	overlay := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(overlay, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return overlay
}

// firstFailure is the first line saying what was wrong.
func firstFailure(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if l := strings.TrimSpace(line); strings.Contains(l, "want") || strings.Contains(l, "err =") {
			return " " + l
		}
	}
	return ""
}

func unique(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
