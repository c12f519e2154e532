package mutants

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// anyMatch reports whether a test among names (full names, "TestX/sub")
// is one that go test -run pattern selects down to pattern's last level.
func anyMatch(pattern string, names map[string]bool) bool {
	elems := splitPattern(pattern)
	for name := range names {
		parts := strings.Split(name, "/")
		if len(parts) < len(elems) {
			continue
		}
		ok := true
		for i, e := range elems {
			if m, err := regexp.MatchString(e, parts[i]); err != nil || !m {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// splitPattern splits a -run pattern at the slashes outside brackets and
// parentheses, as the testing package does.
func splitPattern(p string) []string {
	var (
		elems []string
		cs    = 0 // [ ] depth
		cp    = 0 // ( ) depth
		from  = 0
	)
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '[':
			cs++
		case ']':
			if cs > 0 {
				cs--
			}
		case '(':
			if cs == 0 {
				cp++
			}
		case ')':
			if cs == 0 && cp > 0 {
				cp--
			}
		case '\\':
			i++
		case '/':
			if cs == 0 && cp == 0 {
				elems = append(elems, p[from:i])
				from = i + 1
			}
		}
	}
	return append(elems, p[from:])
}

// TestRunPatterns: the baseline check reads -run patterns as go test
// does, level by level, and every mutant's pattern is a valid one.
func TestRunPatterns(t *testing.T) {
	names := map[string]bool{"TestTruthRTT": true, "TestTruthRTT/25ms": true, "TestLossPct": true, "TestA/x/y": true}
	for _, c := range []struct {
		pattern string
		want    bool
	}{
		{`^TestTruthRTT$/^25ms$`, true},
		{`^TestTruthRTT$/^100ms$`, false},
		{`^TestLossPct$`, true},
		{`^(TestLossPct|TestNone)$`, true},
		{`^TestLossPct$/^sub$`, false},
		{`^TestA$/[x/]/y`, true},
		{`^TestNone$`, false},
	} {
		if got := anyMatch(c.pattern, names); got != c.want {
			t.Errorf("anyMatch(%q) = %v, want %v", c.pattern, got, c.want)
		}
	}
	if got := splitPattern(`^(A/B)$/[/]/c\/d`); !slices.Equal(got, []string{`^(A/B)$`, `[/]`, `c\/d`}) {
		t.Errorf("splitPattern = %q", got)
	}
	for _, m := range mutants {
		for _, e := range splitPattern(m.Run) {
			if _, err := regexp.Compile(e); err != nil {
				t.Errorf("%s: -run %q: %v", m.Name, m.Run, err)
			}
		}
		if top := splitPattern(m.Run)[0]; strings.Contains(strings.Trim(top, "^$"), "$|^") {
			t.Errorf("%s: -run %q: write several top-level tests as ^(A|B)$, as the baseline joins them", m.Name, m.Run)
		}
	}
}
