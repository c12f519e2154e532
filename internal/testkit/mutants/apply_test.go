package mutants

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// root is the module root (this file is internal/testkit/mutants/apply_test.go).
func root(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// mutate returns File's text with the mutant applied; Old must occur
// exactly once, so a mutant never silently stops applying as the code
// changes.
func (m mutant) mutate(t testing.TB) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root(t), m.File))
	if err != nil {
		t.Fatalf("%s: %v", m.Name, err)
	}
	if n := strings.Count(string(src), m.Old); n != 1 {
		t.Fatalf("%s: %q occurs %d times in %s, want once: update the mutant with the code", m.Name, m.Old, n, m.File)
	}
	return strings.Replace(string(src), m.Old, m.New, 1)
}

// TestMutantsApply: every mutant applies to the code as it is, is a real
// change, and names a package and the tests that catch it.
func TestMutantsApply(t *testing.T) {
	names := map[string]bool{}
	for _, m := range mutants {
		if names[m.Name] {
			t.Errorf("two mutants named %q", m.Name)
		}
		names[m.Name] = true
		if m.Old == m.New || m.Pkg == "" || m.Run == "" {
			t.Errorf("%s: no change, package or tests", m.Name)
		}
		m.mutate(t)
	}
	if len(mutants) < 10 {
		t.Errorf("%d mutants: the curated list keeps at least the ten it started from", len(mutants))
	}
}
