package checks

import (
	"fmt"
	"sort"
	"strings"

	"github.com/rtcprobe/rtcprobe/checks/config"
)

// Entry is what the selection grammar and a config's validation see of c.
func (c *Check) Entry() config.Entry {
	return config.Entry{ID: c.ID, OptIn: c.OptIn, Metrics: c.Metrics}
}

// Entries describes the checks for the selection grammar and config
// validation (config.Env's Catalog).
func Entries(catalog []*Check) []config.Entry {
	out := make([]config.Entry, len(catalog))
	for i, c := range catalog {
		out[i] = c.Entry()
	}
	return out
}

// Resolved is what the catalogue, a config and a profile make of a run.
type Resolved struct {
	// Profile is nil when none was asked for.
	Profile *config.Profile
	// Checks are the selected checks, in catalogue order.
	Checks []*Check
	// Thresholds has an entry for every check of the catalogue whose
	// thresholds the profile or config changed.
	Thresholds map[string][]Threshold
	// Layers are the option layers of the profile and the config, in the
	// order they apply.
	Layers []config.Layer
	// Chosen is true when a profile or the config's checks chose the
	// checks; else they are the default run's (no opt-in checks).
	Chosen bool
}

// Default is the checks a run takes when no --checks narrows them: the
// chosen ones (opt-in checks among them only where named), or every one
// but the opt-in checks.
func (r *Resolved) Default() []*Check {
	if r.Chosen {
		return r.Checks
	}
	var out []*Check
	for _, c := range r.Checks {
		if !c.OptIn {
			out = append(out, c)
		}
	}
	return out
}

// Resolve applies a profile (by name; "" means the config's, else none)
// and a config (may be nil) to the catalogue. Checks are those the profile
// selects, narrowed by the config's checks list. Thresholds: the check's
// defaults, then the profile's, then the config's, each replacing the
// threshold on the same metric and level; within one layer, globs apply
// before groups and groups before IDs.
func Resolve(catalog []*Check, cfg *config.Config, profile string) (*Resolved, error) {
	if profile == "" && cfg != nil {
		profile = cfg.Profile
	}
	r := &Resolved{Thresholds: map[string][]Threshold{}}
	if profile != "" {
		p, err := config.FindProfile(cfg, profile)
		if err != nil {
			return nil, err
		}
		r.Profile = p
		r.Layers = append(r.Layers, r.Profile.Options)
	}
	if cfg != nil {
		r.Layers = append(r.Layers, cfg.Options)
	}
	r.Chosen = r.Profile != nil || cfg != nil && len(cfg.Checks) > 0
	for _, c := range catalog {
		if r.Profile != nil && !r.Profile.Selects(c.Entry()) {
			continue
		}
		if cfg != nil && len(cfg.Checks) > 0 && !config.AnyMatches(cfg.Checks, c.Entry()) {
			continue
		}
		r.Checks = append(r.Checks, c)
	}
	if len(r.Checks) == 0 {
		switch {
		case r.Profile != nil && cfg != nil && len(cfg.Checks) > 0:
			return nil, fmt.Errorf("no check left: profile %q selects none of %s from %s", r.Profile.Name, joinPatterns(cfg.Checks), cfg.File)
		case r.Profile != nil:
			return nil, fmt.Errorf("profile %q selects no check in this build (see `rtcprobe list`)", r.Profile.Name)
		}
	}
	var layers [][]config.ThresholdRule
	if r.Profile != nil {
		layers = append(layers, r.Profile.Thresholds)
	}
	if cfg != nil {
		layers = append(layers, cfg.Thresholds)
	}
	entries := Entries(catalog)
	for _, c := range catalog {
		ts, changed := c.Thresholds, false
		for _, rules := range layers {
			for _, rule := range bySpecificity(entries, rules) {
				if rule.Pattern.Matches(c.Entry()) {
					ts, changed = mergeThresholds(ts, rule.Thresholds), true
				}
			}
		}
		if changed {
			r.Thresholds[c.ID] = ts
		}
	}
	return r, nil
}

func joinPatterns(ps []config.Pattern) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return strings.Join(out, ", ")
}

// bySpecificity orders rules so that more specific ones apply last.
func bySpecificity(catalog []config.Entry, rules []config.ThresholdRule) []config.ThresholdRule {
	out := append([]config.ThresholdRule(nil), rules...)
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].Pattern.Specificity(catalog) < out[j].Pattern.Specificity(catalog)
	})
	return out
}

// mergeThresholds returns base with each of over replacing the threshold
// on the same metric and level, or added when there is none.
func mergeThresholds(base, over []Threshold) []Threshold {
	out := append([]Threshold(nil), base...)
	for _, t := range over {
		replaced := false
		for i := range out {
			if out[i].Metric == t.Metric && out[i].Level == t.Level {
				out[i], replaced = t, true
			}
		}
		if !replaced {
			out = append(out, t)
		}
	}
	return out
}

// Select returns the checks of the catalogue the patterns select, in
// catalogue order; no pattern selects every check.
func Select(catalog []*Check, patterns []config.Pattern) []*Check {
	if len(patterns) == 0 {
		return catalog
	}
	var out []*Check
	for _, c := range catalog {
		if config.AnyMatches(patterns, c.Entry()) {
			out = append(out, c)
		}
	}
	return out
}

// MustSelect is Select with a spec that must parse, for tests and
// built-in tables.
func MustSelect(catalog []*Check, spec string) []*Check {
	ps, err := config.ParseSelection(Entries(catalog), spec)
	if err != nil {
		panic(err)
	}
	return Select(catalog, ps)
}
