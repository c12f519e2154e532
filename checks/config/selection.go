package config

import (
	"fmt"
	"path"
	"strings"
)

// The one selection grammar, used by --checks, a config's checks list,
// profiles and thresholds. A pattern is
//
//	*                      every check
//	stun                   a group: every check whose ID starts with "stun."
//	stun.udp               an ID
//	browser.getusermedia   a dotted prefix: browser.getusermedia.audio and .video
//	ice.*, turn.t?p        a glob on IDs (path.Match: * ? [...])
//
// A list is comma-separated ("stun.udp, turn").

// Entry is what the selection grammar and a config's validation know of
// a check. The catalogue sits above this package (its checks drive
// browsers), so it describes its checks in these terms: checks.Entries.
type Entry struct {
	// ID is "group.name", e.g. "stun.udp".
	ID string
	// OptIn checks are selected only by name: their ID, group or prefix.
	OptIn bool
	// Metrics are what the check reports; none means any.
	Metrics []string
}

// Pattern is one term of the selection grammar.
type Pattern string

// PatternError is a selection term that is malformed or selects nothing.
type PatternError struct {
	Pattern string
	// Unknown is true when the pattern is well-formed but matches no check.
	Unknown bool
}

func (e *PatternError) Error() string {
	if e.Unknown {
		return fmt.Sprintf("unknown check %q (no check ID, group, prefix or glob matches it; see `rtcprobe list`)", e.Pattern)
	}
	return fmt.Sprintf("invalid check pattern %q (want an ID like stun.udp, a group like turn, or a glob like \"ice.*\")", e.Pattern)
}

// ParsePattern validates one term against the catalogue: it must be
// well-formed and select at least one check.
func ParsePattern(catalog []Entry, s string) (Pattern, error) {
	if s == "" || strings.TrimSpace(s) != s || strings.Contains(s, ",") {
		return "", &PatternError{Pattern: s}
	}
	if _, err := path.Match(s, ""); err != nil {
		return "", &PatternError{Pattern: s}
	}
	p := Pattern(s)
	for _, c := range catalog {
		if p.Matches(c) {
			return p, nil
		}
	}
	return "", &PatternError{Pattern: s, Unknown: true}
}

// ParseSelection reads a comma-separated list of patterns; empty entries
// are ignored, and an empty list selects nothing (the caller decides what
// no selection means).
func ParseSelection(catalog []Entry, spec string) ([]Pattern, error) {
	var out []Pattern
	for _, term := range strings.Split(spec, ",") {
		term = strings.TrimSpace(term)
		if term == "" {
			continue
		}
		p, err := ParsePattern(catalog, term)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Matches reports whether the pattern selects c.
func (p Pattern) Matches(c Entry) bool {
	s := string(p)
	if s == c.ID || strings.HasPrefix(c.ID, s+".") {
		return true
	}
	if c.OptIn {
		return false
	}
	if s == "*" {
		return true
	}
	ok, _ := path.Match(s, c.ID)
	return ok
}

// Specificity orders patterns from broad to narrow, so that narrower
// threshold rules apply last: globs, then groups and prefixes, then IDs.
func (p Pattern) Specificity(catalog []Entry) int {
	switch {
	case strings.ContainsAny(string(p), "*?["):
		return 0
	case len(matching(catalog, []Pattern{p})) > 1:
		return 1
	}
	return 2
}

// AnyMatches reports whether any of the patterns selects c.
func AnyMatches(patterns []Pattern, c Entry) bool {
	for _, p := range patterns {
		if p.Matches(c) {
			return true
		}
	}
	return false
}

// matching returns the checks of the catalogue any pattern selects, in
// catalogue order.
func matching(catalog []Entry, patterns []Pattern) []Entry {
	var out []Entry
	for _, c := range catalog {
		if AnyMatches(patterns, c) {
			out = append(out, c)
		}
	}
	return out
}
