package checks

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Profile selects checks and adjusts thresholds and options for a purpose.
// It selects by pattern (group, ID or glob), so it covers checks added
// after it was written.
type Profile struct {
	Name        string
	Description string
	// Include and Exclude are check patterns; a check runs when it matches
	// an Include and no Exclude.
	Include, Exclude []string
	Thresholds       []ThresholdRule
	Options          OptionSet
	// FailOn, when set, is the worst status that still passes the run.
	FailOn Status
	// BuiltIn profiles name groups that may not exist in every build;
	// patterns that match no check are ignored instead of rejected.
	BuiltIn bool
}

// Selects reports whether the profile runs c.
func (p *Profile) Selects(c *Check) bool {
	in := false
	for _, pat := range p.Include {
		in = in || matches(pat, c)
	}
	for _, pat := range p.Exclude {
		if matches(pat, c) {
			return false
		}
	}
	return in
}

// builtinProfiles are the profiles every build has. Media checks use fake
// media (synthetic camera and microphone) unless an option asks for real
// devices, so `ci` needs no hardware.
var builtinProfiles = []*Profile{
	{
		Name:        "ci",
		Description: "Everything that runs hermetically (embedded server, loopback, fake media); warnings fail the run.",
		Include:     []string{"*"},
		FailOn:      Warn,
		BuiltIn:     true,
	},
	{
		Name:        "firewall",
		Description: "The transport and port matrix: STUN, TURN, firewall, NAT and signalling reachability; no media.",
		Include:     []string{"stun", "turn", "firewall", "nat", "signaling"},
		BuiltIn:     true,
	},
	{
		Name:        "precall",
		Description: "Before a call: browser and devices, media quality, ICE connectivity, STUN and TURN.",
		Include:     []string{"browser", "media", "ice", "stun", "turn"},
		BuiltIn:     true,
	},
}

// BuiltinProfile returns the built-in profile of that name, or nil.
func BuiltinProfile(name string) *Profile {
	for _, p := range builtinProfiles {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Profiles lists the built-in profiles and those of cfg (which replace
// built-ins of the same name), sorted by name.
func Profiles(cfg *Config) []*Profile {
	byName := map[string]*Profile{}
	for _, p := range builtinProfiles {
		byName[p.Name] = p
	}
	if cfg != nil {
		for n, p := range cfg.Profiles {
			byName[n] = p
		}
	}
	out := make([]*Profile, 0, len(byName))
	for _, n := range slices.Sorted(maps.Keys(byName)) {
		out = append(out, byName[n])
	}
	return out
}

func profileNames(cfg *Config) []string {
	var out []string
	for _, p := range Profiles(cfg) {
		out = append(out, p.Name)
	}
	return out
}

var profileName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

func validProfileName(s string) bool { return profileName.MatchString(s) }

// Resolved is what the catalogue, a config and a profile make of a run.
type Resolved struct {
	// Profile is nil when none was asked for.
	Profile *Profile
	// Checks are the selected checks, in catalogue order.
	Checks []*Check
	// Thresholds has an entry for every check of the catalogue whose
	// thresholds the profile or config changed.
	Thresholds map[string][]Threshold
	// FailOn is the worst status that still passes: Warn or Fail.
	FailOn Status
}

// Resolve applies a profile (by name; "" means the config's, else none)
// and a config (may be nil) to the catalogue. Checks are those the profile
// selects, narrowed by the config's checks list. Thresholds: the check's
// defaults, then the profile's, then the config's, each replacing the
// threshold on the same metric and level; within one layer, globs apply
// before groups and groups before IDs.
func Resolve(catalog []*Check, cfg *Config, profile string) (*Resolved, error) {
	if profile == "" && cfg != nil {
		profile = cfg.Profile
	}
	r := &Resolved{Thresholds: map[string][]Threshold{}, FailOn: Fail}
	if profile != "" {
		for _, p := range Profiles(cfg) {
			if p.Name == profile {
				r.Profile = p
			}
		}
		if r.Profile == nil {
			return nil, fmt.Errorf("unknown profile %q (want one of: %s)", profile, strings.Join(profileNames(cfg), ", "))
		}
		if r.Profile.FailOn != "" {
			r.FailOn = r.Profile.FailOn
		}
	}
	if cfg != nil && cfg.FailOn != "" {
		r.FailOn = cfg.FailOn
	}
	for _, c := range catalog {
		if r.Profile != nil && !r.Profile.Selects(c) {
			continue
		}
		if cfg != nil && len(cfg.Checks) > 0 && !anyMatches(cfg.Checks, c) {
			continue
		}
		r.Checks = append(r.Checks, c)
	}
	if len(r.Checks) == 0 {
		switch {
		case r.Profile != nil && cfg != nil && len(cfg.Checks) > 0:
			return nil, fmt.Errorf("no check left: profile %q selects none of %s from %s", r.Profile.Name, strings.Join(cfg.Checks, ", "), cfg.File)
		case r.Profile != nil:
			return nil, fmt.Errorf("profile %q selects no check in this build (see `rtcprobe list`)", r.Profile.Name)
		}
	}
	var layers [][]ThresholdRule
	if r.Profile != nil {
		layers = append(layers, r.Profile.Thresholds)
	}
	if cfg != nil {
		layers = append(layers, cfg.Thresholds)
	}
	for _, c := range catalog {
		ts, changed := c.Thresholds, false
		for _, rules := range layers {
			for _, rule := range bySpecificity(rules) {
				if matches(rule.Pattern, c) {
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

// ApplyOptions sets the profile's options, then the config's, on o.
func (r *Resolved) ApplyOptions(cfg *Config, o *Options) {
	if r.Profile != nil {
		r.Profile.Options.Apply(o)
	}
	if cfg != nil {
		cfg.Options.Apply(o)
	}
}

func anyMatches(patterns []string, c *Check) bool {
	for _, p := range patterns {
		if matches(p, c) {
			return true
		}
	}
	return false
}

// bySpecificity orders rules so that more specific ones apply last.
func bySpecificity(rules []ThresholdRule) []ThresholdRule {
	rank := func(p string) int {
		switch {
		case strings.ContainsAny(p, "*?["):
			return 0
		case !strings.Contains(p, "."):
			return 1
		}
		return 2
	}
	out := append([]ThresholdRule(nil), rules...)
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i].Pattern) < rank(out[j].Pattern) })
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
