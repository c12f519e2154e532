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
	Include, Exclude []Pattern
	Thresholds       []ThresholdRule
	// Options are the options the profile sets (fail_on among them).
	Options Layer
	// BuiltIn profiles name groups that may not exist in every build;
	// patterns that match no check are ignored instead of rejected.
	BuiltIn bool
}

// Selects reports whether the profile runs c.
func (p *Profile) Selects(c *Check) bool {
	return matchesAny(p.Include, c) && !matchesAny(p.Exclude, c)
}

// profileOptions is a built-in profile's options, from key: value pairs.
func profileOptions(profile string, kv ...string) Layer {
	var l Layer
	for i := 0; i+1 < len(kv); i += 2 {
		l = append(l, Assignment{Option: LookupOption(kv[i]), Text: kv[i+1], Source: "profile " + profile})
	}
	return l
}

// builtinProfiles are the profiles every build has. Media checks use fake
// media (synthetic camera and microphone) unless an option asks for real
// devices, so `ci` needs no hardware.
var builtinProfiles = []*Profile{
	{
		Name:        "ci",
		Description: "Everything that runs hermetically (embedded server, loopback, fake media); warnings fail the run.",
		Include:     []Pattern{"*"},
		Options:     profileOptions("ci", "fail_on", "warn"),
		BuiltIn:     true,
	},
	{
		Name:        "firewall",
		Description: "The transport and port matrix: STUN, TURN, firewall, NAT and signalling reachability; no media.",
		Include:     []Pattern{"stun", "turn", "firewall", "nat", "signaling"},
		BuiltIn:     true,
	},
	{
		Name:        "load",
		Description: "TURN capacity: concurrent relayed calls through the turn: servers given (rtcprobe load).",
		Include:     []Pattern{"load"},
		BuiltIn:     true,
	},
	{
		Name:        "precall",
		Description: "Before a call: browser and devices, media quality, ICE connectivity, STUN and TURN.",
		Include:     []Pattern{"browser", "media", "ice", "stun", "turn"},
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
	// Layers are the option layers of the profile and the config, in the
	// order they apply.
	Layers []Layer
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

// ProfileError is a profile name that names no profile.
type ProfileError struct {
	Name  string
	Known []string
}

func (e *ProfileError) Error() string {
	return fmt.Sprintf("unknown profile %q (want one of: %s)", e.Name, strings.Join(e.Known, ", "))
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
	r := &Resolved{Thresholds: map[string][]Threshold{}}
	if profile != "" {
		for _, p := range Profiles(cfg) {
			if p.Name == profile {
				r.Profile = p
			}
		}
		if r.Profile == nil {
			return nil, &ProfileError{Name: profile, Known: profileNames(cfg)}
		}
		r.Layers = append(r.Layers, r.Profile.Options)
	}
	if cfg != nil {
		r.Layers = append(r.Layers, cfg.Options)
	}
	r.Chosen = r.Profile != nil || cfg != nil && len(cfg.Checks) > 0
	for _, c := range catalog {
		if r.Profile != nil && !r.Profile.Selects(c) {
			continue
		}
		if cfg != nil && len(cfg.Checks) > 0 && !matchesAny(cfg.Checks, c) {
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
			for _, rule := range bySpecificity(catalog, rules) {
				if rule.Pattern.Matches(c) {
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

func joinPatterns(ps []Pattern) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return strings.Join(out, ", ")
}

// bySpecificity orders rules so that more specific ones apply last.
func bySpecificity(catalog []*Check, rules []ThresholdRule) []ThresholdRule {
	out := append([]ThresholdRule(nil), rules...)
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].Pattern.specificity(catalog) < out[j].Pattern.specificity(catalog)
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
