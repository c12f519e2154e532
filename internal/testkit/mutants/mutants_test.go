//go:build mutants

package mutants

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// TestMutants builds each mutant through `go test -overlay` (the tree is
// never modified) and requires that the tests named for it fail. First
// the same tests must pass on the code as it is: a test that fails anyway
// would "catch" every mutant. That baseline runs every truth test of the
// package (TestTruth*), not only the catching ones, so it is also the
// truth step of `make test`.
func TestMutants(t *testing.T) {
	goBin := testenv.LookPath(t, "go")
	dir := root(t)
	tops := map[string][]string{}
	for _, m := range mutants {
		top, _, _ := strings.Cut(m.Run, "/")
		tops[m.Pkg] = append(tops[m.Pkg], strings.Trim(top, "^$"))
	}
	pkgs := make([]string, 0, len(tops))
	for p := range tops {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, pkg := range pkgs {
		run := "^(TestTruth.*|" + strings.Join(unique(tops[pkg]), "|") + ")$"
		start := time.Now()
		out, err := goTest(t, goBin, dir, pkg, run)
		if err != nil {
			t.Fatalf("the catching tests of %s fail without any mutant: %v\n%s", pkg, err, out)
		}
		t.Logf("baseline: %s -run %q passes (%s)", pkg, run, time.Since(start).Round(time.Second))
	}

	// Build every mutant's test binary first, two compiles at a time (the
	// cores are otherwise idle), so that no compile runs beside a truth
	// test; then run them. A catching test is a truth test, which runs
	// beside its sibling subtests in `make truth`: runMutants at a time
	// is the same condition.
	bins := make([]string, len(mutants))
	forEach(len(mutants), buildMutants, func(i int) {
		m := mutants[i]
		bins[i] = filepath.Join(t.TempDir(), "mutant.test")
		if out, err := goBuildTest(t, goBin, dir, writeOverlay(t, dir, m), m.Pkg, bins[i]); err != nil {
			t.Errorf("mutant %q does not build: %v\n%s", m.Name, err, out)
			bins[i] = ""
		}
	})
	var (
		mu      sync.Mutex
		escaped []string
	)
	forEach(len(mutants), runMutants, func(i int) {
		m := mutants[i]
		if bins[i] == "" {
			return
		}
		start := time.Now()
		out, err := runTest(t, bins[i], filepath.Join(dir, m.Pkg), m.Run, "RTCPROBE_TRUTH_ATTEMPTS=1")
		switch {
		case err == nil:
			mu.Lock()
			escaped = append(escaped, m.Name)
			mu.Unlock()
			t.Errorf("mutant %q escaped: %s -run %q passed with it", m.Name, m.Pkg, m.Run)
		case !strings.Contains(out, "--- FAIL"):
			t.Errorf("mutant %q: the test binary failed without a failing test (%v):\n%s", m.Name, err, out)
		default:
			t.Logf("caught %-60q by %s in %s:%s", m.Name, m.Run, time.Since(start).Round(time.Second), firstFailure(out))
		}
	})
	t.Logf("%d mutants, %d escaped %v", len(mutants), len(escaped), escaped)
}

// How many mutants build at once, and how many run at once.
const (
	buildMutants = 2
	runMutants   = 4
)

// forEach calls f(0..n-1), at most limit at a time, and waits for all.
func forEach(n, limit int, f func(i int)) {
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}

// goTest runs `go test` on pkg with the tests matching run, without the
// race detector (the mutants are about numbers).
func goTest(t *testing.T, goBin, dir, pkg, run string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "test", "-count=1", "-parallel", strconv.Itoa(runMutants), "-run", run, pkg)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// goBuildTest compiles pkg's test binary to bin with overlay applied.
func goBuildTest(t *testing.T, goBin, dir, overlay, pkg, bin string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "test", "-c", "-o", bin, "-overlay", overlay, pkg)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// runTest runs a built test binary in its package's directory (as go test
// does) with the tests matching run and env added to the environment.
func runTest(t *testing.T, bin, pkgDir, run string, env ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.count=1", "-test.failfast", "-test.run", run)
	cmd.Dir = pkgDir
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
