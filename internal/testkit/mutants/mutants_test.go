//go:build mutants

package mutants

import (
	"context"
	"encoding/json"
	"fmt"
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

// TestMutants builds each mutant through an overlay (the tree is never
// modified) and requires that the tests named for it fail. The overlay
// goes in GOFLAGS (-overlay=FILE), in the environment of both the build
// of the test binary and its run, so that whatever the test builds with
// go itself is mutated too: the rtcprobe binary the CLI and conformance
// tests' TestMain builds (testenv.Binary, with RTCPROBE_TEST_BINARY left
// out of the environment so that it does build one).
//
// First the same tests must pass on the code as it is: a test that fails
// anyway would "catch" every mutant. That baseline runs every truth test
// of the package (TestTruth*), not only the catching ones, so it is also
// the truth step of `make test`; each mutant's own -run pattern must
// match a test that passed there. A mutant is caught only when its tests
// fail twice in a row: with RTCPROBE_TRUTH_ATTEMPTS=1 a truth test that
// fails by chance once in a while would otherwise "catch" it.
func TestMutants(t *testing.T) {
	goBin := testenv.LookPath(t, "go")
	dir := root(t)
	began := time.Now()
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
	passed := map[string]map[string]bool{} // package → tests that passed in the baseline
	for _, pkg := range pkgs {
		run := "^(TestTruth.*|" + strings.Join(unique(tops[pkg]), "|") + ")$"
		start := time.Now()
		res, err := goTest(t, goBin, dir, pkg, run)
		if err != nil {
			t.Fatalf("the catching tests of %s fail without any mutant: %v\n%s", pkg, err, res.output)
		}
		passed[pkg] = res.passed
		t.Logf("baseline: %s -run %q passes (%d tests, %s)", pkg, run, len(res.passed), time.Since(start).Round(time.Second))
	}
	for _, m := range mutants {
		if !anyMatch(m.Run, passed[m.Pkg]) {
			t.Errorf("mutant %q: no test of %s matching %q passed in the baseline (skipped or misnamed?)", m.Name, m.Pkg, m.Run)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	baseline := time.Since(began)

	// Build every mutant's test binary first, two compiles at a time (the
	// cores are otherwise idle), so that no compile runs beside a truth
	// test; then run them. Only what depends on the mutated file is
	// compiled again: the rest comes from the build cache. A catching
	// test is a truth test, which runs beside its sibling subtests in
	// `make truth`: runMutants at a time is the same condition.
	built := time.Now()
	bins, overlays := buildAll(t, goBin, dir)
	building := time.Since(built)
	ran := time.Now()
	var (
		mu      sync.Mutex
		escaped []string
	)
	escape := func(name string) {
		mu.Lock()
		defer mu.Unlock()
		escaped = append(escaped, name)
	}
	forEach(len(mutants), runMutants, func(i int) {
		m := mutants[i]
		if bins[i] == "" {
			return
		}
		start := time.Now()
		pkgDir := filepath.Join(dir, m.Pkg)
		out, err := runTest(t, bins[i], pkgDir, m.Run, mutantEnv(overlays[i]))
		if err == nil {
			escape(m.Name)
			t.Errorf("mutant %q escaped: %s -run %q passed with it", m.Name, m.Pkg, m.Run)
			return
		}
		if !strings.Contains(out, "--- FAIL") {
			t.Errorf("mutant %q: the test binary failed without a failing test (%v):\n%s", m.Name, err, out)
			return
		}
		// Once more: a failure by chance does not come twice.
		again, err := runTest(t, bins[i], pkgDir, m.Run, mutantEnv(overlays[i]))
		if err == nil || !strings.Contains(again, "--- FAIL") {
			escape(m.Name)
			t.Errorf("mutant %q: %s -run %q failed once with it, then passed (%v): a failure by chance, not a catch:\n%s", m.Name, m.Pkg, m.Run, err, out)
			return
		}
		t.Logf("caught %-60q by %s twice in %s:%s", m.Name, m.Run, time.Since(start).Round(time.Second), firstFailure(out))
	})
	t.Logf("%d mutants, %d escaped %v", len(mutants), len(escaped), escaped)
	t.Logf("total %s: baseline %s, building %s, running %s", time.Since(began).Round(time.Second),
		baseline.Round(time.Second), building.Round(time.Second), time.Since(ran).Round(time.Second))
}

// TestMutantsBuild only builds every mutant's test binary, into
// RTCPROBE_MUTANTS_DIR: `make test` runs it beside the release tests, the
// cores otherwise half idle, so that TestMutants after them finds each
// binary up to date by its stamp and spends its time running them.
func TestMutantsBuild(t *testing.T) {
	if os.Getenv(envDir) == "" {
		t.Skip(envDir + " is not set: the binaries would be thrown away")
	}
	buildAll(t, testenv.LookPath(t, "go"), root(t))
}

// envDir names a directory that keeps each mutant's overlay and test
// binary between runs, at a path of its own; unset, they go to a
// temporary directory.
const envDir = "RTCPROBE_MUTANTS_DIR"

// buildAll writes every mutant's overlay and builds its test binary,
// buildMutants at a time; a mutant that does not build is an error and
// gets no binary ("").
func buildAll(t *testing.T, goBin, dir string) (bins, overlays []string) {
	keep := os.Getenv(envDir)
	if keep != "" {
		abs, err := filepath.Abs(keep)
		if err != nil {
			t.Fatal(err)
		}
		keep = abs
	}
	inputs := ""
	if keep != "" {
		inputs = inputsDigest(t, goBin, dir)
	}
	bins = make([]string, len(mutants))
	overlays = make([]string, len(mutants))
	forEach(len(mutants), buildMutants, func(i int) {
		m := mutants[i]
		at := t.TempDir()
		if keep != "" {
			// The index and the name: two mutants never share a path,
			// and a path keeps its mutant while the list only grows.
			at = filepath.Join(keep, fmt.Sprintf("%03d-%s", i, slug(m.Name)))
			if err := os.MkdirAll(at, 0o755); err != nil {
				t.Error(err)
				return
			}
		}
		overlays[i] = writeOverlay(t, dir, at, m)
		bins[i] = filepath.Join(at, "mutant.test")
		stamp := ""
		if inputs != "" {
			stamp = stampOf(inputs, overlays[i], mutatedPath(at, m))
			if upToDate(bins[i], stamp) {
				return
			}
			_ = os.Remove(bins[i] + ".stamp")
		}
		if out, err := goBuildTest(t, goBin, dir, overlays[i], m.Pkg, bins[i]); err != nil {
			t.Errorf("mutant %q does not build: %v\n%s", m.Name, err, out)
			bins[i] = ""
			return
		}
		if stamp != "" {
			if err := os.WriteFile(bins[i]+".stamp", []byte(stamp), 0o644); err != nil {
				t.Error(err)
			}
		}
	})
	return bins, overlays
}

// slug is a mutant's name as a file name: letters and digits, the rest
// dashes, at most 40 bytes.
func slug(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case b.Len() >= 40:
			return b.String()
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
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

// baselineResult is what a baseline go test run showed: the tests that
// passed (full names, as -run matches them) and its output.
type baselineResult struct {
	passed map[string]bool
	output string
}

// goTest runs `go test -json` on pkg with the tests matching run, without
// the race detector (the mutants are about numbers), in the environment
// the mutants run in minus the overlay.
func goTest(t *testing.T, goBin, dir, pkg, run string) (baselineResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "test", "-json", "-count=1", "-parallel", strconv.Itoa(runMutants), "-run", run, pkg)
	cmd.Dir = dir
	cmd.Env = mutantEnv("")
	out, err := cmd.CombinedOutput()
	res := baselineResult{passed: map[string]bool{}}
	var text strings.Builder
	for _, line := range strings.Split(string(out), "\n") {
		var ev struct{ Action, Test, Output string }
		if json.Unmarshal([]byte(line), &ev) != nil {
			text.WriteString(line + "\n")
			continue
		}
		text.WriteString(ev.Output)
		if ev.Action == "pass" && ev.Test != "" {
			res.passed[ev.Test] = true
		}
	}
	res.output = text.String()
	return res, err
}

// mutantEnv is this process's environment for a go command or a test
// binary of a mutant: RTCPROBE_TEST_BINARY left out (TestMain then
// builds the binary, through the overlay), the overlay added to GOFLAGS
// (none for the baseline), and one attempt per truth check.
func mutantEnv(overlay string) []string {
	var env []string
	goflags := ""
	for _, kv := range os.Environ() {
		switch k, v, _ := strings.Cut(kv, "="); k {
		case testenv.EnvBinary, "RTCPROBE_TRUTH_ATTEMPTS":
		case "GOFLAGS":
			goflags = v
		default:
			env = append(env, kv)
		}
	}
	if overlay != "" {
		goflags = strings.TrimSpace(goflags + " -overlay=" + overlay)
		env = append(env, "RTCPROBE_TRUTH_ATTEMPTS=1")
	}
	if goflags != "" {
		env = append(env, "GOFLAGS="+goflags)
	}
	return env
}

// goBuildTest compiles pkg's test binary to bin with overlay applied
// (through GOFLAGS, as the binary's own builds will see it).
func goBuildTest(t *testing.T, goBin, dir, overlay, pkg, bin string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// No symbol table or DWARF: a quarter of each link, and the mutant
	// binaries are run once and thrown away.
	cmd := exec.CommandContext(ctx, goBin, "test", "-c", "-ldflags=-s -w", "-o", bin, pkg)
	cmd.Dir = dir
	cmd.Env = mutantEnv(overlay)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// runTest runs a built test binary in its package's directory (as go test
// does) with the tests matching run, in env.
func runTest(t *testing.T, bin, pkgDir, run string, env []string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.count=1", "-test.failfast", "-test.run", run)
	cmd.Dir = pkgDir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// mutatedPath is where the mutated copy of m's file goes in dir: not
// named .go, so that a kept directory inside the module (bin/test) is no
// package to go build ./..., go vet or gofmt; go reads an overlay's
// replacement by the name it replaces.
func mutatedPath(dir string, m mutant) string {
	return filepath.Join(dir, filepath.Base(m.File)+".mutated")
}

// writeOverlay writes the mutated file and the overlay naming it into
// tmp (go keys its cache on their contents: rewriting the same bytes
// keeps a kept binary up to date).
func writeOverlay(t *testing.T, dir, tmp string, m mutant) string {
	t.Helper()
	mutated := mutatedPath(tmp, m)
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
