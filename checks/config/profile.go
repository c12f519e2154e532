package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
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
func (p *Profile) Selects(c Entry) bool {
	return AnyMatches(p.Include, c) && !AnyMatches(p.Exclude, c)
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
		Name:        "audit",
		Description: "TURN security audit: which peer addresses the turn: servers given relay to (loopback, private, metadata, their own), TCP relays, authentication, SOFTWARE, TLS, amplification (rtcprobe audit).",
		Include:     []Pattern{"audit"},
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

var profileName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`) })

func validProfileName(s string) bool { return profileName().MatchString(s) }

// ProfileError is a profile name that names no profile.
type ProfileError struct {
	Name  string
	Known []string
}

func (e *ProfileError) Error() string {
	return fmt.Sprintf("unknown profile %q (want one of: %s)", e.Name, strings.Join(e.Known, ", "))
}

// FindProfile returns the profile of that name among the built-in ones
// and cfg's (which may be nil).
func FindProfile(cfg *Config, name string) (*Profile, error) {
	for _, p := range Profiles(cfg) {
		if p.Name == name {
			return p, nil
		}
	}
	return nil, &ProfileError{Name: name, Known: profileNames(cfg)}
}
