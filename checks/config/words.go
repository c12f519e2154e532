package config

import (
	"regexp"
	"strings"
	"sync"

	"github.com/rtcprobe/rtcprobe/checks/result"
)

// Libraries (probes, checks, browser) tell users what to set, but only a
// front end knows how its users set things: the command line has flags,
// a config file and an exporter module have keys, the pre-call page has
// nothing to set. So a library's text names an option by reference,
// {option:KEY} or {option:KEY=VALUE} (written out: probes cannot import
// this package), and each front end words it with its Words. KEY is an
// options-table key or one of the inputs below; the command line's tests
// hold every reference in the sources to a known key.

// inputs are what a run takes besides options (servers' credentials,
// trust, media server endpoints, the selection), by reference key, with
// their command-line flag (without dashes, as Option.Flag) and where a
// config file and a module set them ("" where they cannot: trust is the
// front end's own, and a module's target comes with each probe).
var inputs = map[string]struct{ flag, file, module string }{
	"insecure":    {"insecure", "", ""},
	"ca":          {"ca", "", ""},
	"whip":        {"whip", "whip.url", ""},
	"whep":        {"whep", "whep.url", ""},
	"whip_token":  {"whip-token", "whip.token", ""},
	"username":    {"user", "servers[].username", "credentials.username"},
	"password":    {"password", "servers[].credential", "credentials.password"},
	"turn_secret": {"turn-secret", "servers[].secret", "credentials.secret"},
	"rest_user":   {"user", "servers[].user", "credentials.user"},
	"turn_ttl":    {"turn-ttl", "servers[].ttl", "credentials.ttl"},
	"checks":      {"checks", "checks", "checks"},
	"profile":     {"profile", "profile", ""},
}

// FlagName is the command-line name of the option or input with that key
// (without dashes), and whether it is a switch; "" for none.
func FlagName(key string) (name string, isBool bool) {
	if o := LookupOption(key); o != nil {
		return o.Flag, o.Bool
	}
	return inputs[key].flag, key == "insecure"
}

// RefKeys is every key a reference may name.
func RefKeys() []string {
	var keys []string
	for _, o := range OptionTable() {
		keys = append(keys, o.Key)
	}
	for k := range inputs {
		keys = append(keys, k)
	}
	return keys
}

// Words is how one front end names an option: its words for the option
// with that key, set to value when value is not empty; "" when the front
// end has none (the option cannot be set there). The zero Words names
// nothing: what the pre-call page says.
type Words func(key, value string) string

// FlagWords names options as the command line sets them (and its
// documentation, the README): "--count", "--checks load",
// "--turn-ipv6=false". The flags are the tables' (Option.Flag, inputs);
// the command line's tests hold them to the flags it registers.
func FlagWords(key, value string) string {
	name, isBool := FlagName(key)
	switch {
	case name == "":
		return ""
	case value == "" || isBool && value == "true":
		return "--" + name
	case isBool:
		return "--" + name + "=" + value
	}
	return "--" + name + " " + value
}

// ConfigWords names options as a config file sets them:
// "options.stun_count", "whip.token", "checks: load".
func ConfigWords(key, value string) string {
	return keyWords(inputs[key].file, key, value)
}

// ModuleWords names options as an exporter module sets them:
// "options.stun_count", "credentials.username".
func ModuleWords(key, value string) string {
	return keyWords(inputs[key].module, key, value)
}

func keyWords(path, key, value string) string {
	if o := LookupOption(key); o != nil {
		path = o.ConfigPath()
	}
	if path == "" || value == "" {
		return path
	}
	return path + ": " + value
}

var refPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`( \()?\{option:([a-z0-9_]+)(?:=([^{}]*))?\}(\))?`) })

// Say words the references in s. A reference the front end has no words
// for is dropped when it stands alone in parentheses, else named in plain
// words ("the concurrency option").
func (w Words) Say(s string) string {
	if !strings.Contains(s, "{option:") {
		return s
	}
	return refPattern().ReplaceAllStringFunc(s, func(m string) string {
		g := refPattern().FindStringSubmatch(m)
		open, key, value, closing := g[1], g[2], g[3], g[4]
		var name string
		if w != nil {
			name = w(key, value)
		}
		if name != "" {
			return open + name + closing
		}
		if open != "" && closing != "" {
			return ""
		}
		name = "the " + strings.ReplaceAll(key, "_", " ") + " option"
		if value != "" {
			name += " set to " + value
		}
		return open + name + closing
	})
}

// Result words the references in what r says to a person: its error,
// advice, diagnosis and evidence.
func (w Words) Result(r *result.Result) {
	r.Error, r.Advice = w.Say(r.Error), w.Say(r.Advice)
	if d := r.Diagnosis; d != nil {
		c := *d
		c.Cause, c.TellApart, c.Advice = w.Say(c.Cause), w.Say(c.TellApart), w.Say(c.Advice)
		c.Candidates = append([]string(nil), c.Candidates...)
		for i := range c.Candidates {
			c.Candidates[i] = w.Say(c.Candidates[i])
		}
		r.Diagnosis = &c
	}
	if len(r.Evidence) > 0 {
		r.Evidence = append(r.Evidence[:0:0], r.Evidence...)
		for i := range r.Evidence {
			r.Evidence[i].Value = w.Say(r.Evidence[i].Value)
		}
	}
}
