package checks

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rtcprobe/rtcprobe/probes"
)

// Precall is the config's precall: section, for rtcprobe serve's hosted
// pre-call page.
type Precall struct {
	// Where is the section's file:line.
	Where string
	// Disabled turns the page off (enabled: false).
	Disabled bool
	// Servers are what the page tests; nil means the config's servers
	// (and the embedded server when there are none).
	Servers []probes.Server
	// Profile selects the checks and thresholds; "" means "precall".
	Profile string
	// FullClientAddress stores clients' whole addresses instead of their
	// /24 (IPv4) or /48 (IPv6) network.
	FullClientAddress bool
	// Retention deletes results older than this; 0 keeps them.
	Retention time.Duration
}

func (p *configParser) precall(k, n *yaml.Node) *Precall {
	pc := &Precall{Where: fmt.Sprintf("%s:%d", p.file, k.Line)}
	p.fields(n, "precall", map[string]func(k, v *yaml.Node){
		"enabled":             func(k, v *yaml.Node) { pc.Disabled = !p.boolean(v, "precall.enabled") },
		"servers":             func(k, v *yaml.Node) { pc.Servers = p.serverList(v, "precall.servers") },
		"profile":             func(k, v *yaml.Node) { pc.Profile = p.str(v, "precall.profile") },
		"full_client_address": func(k, v *yaml.Node) { pc.FullClientAddress = p.boolean(v, "precall.full_client_address") },
		"retention": func(k, v *yaml.Node) {
			d, err := ParseRetention(v.Value)
			if v.Kind != yaml.ScalarNode || err != nil {
				p.errorf(v, "precall.retention", "invalid value %s (%v)", kindName(v), err)
				return
			}
			pc.Retention = d
		},
	})
	return pc
}

func (p *configParser) boolean(n *yaml.Node, field string) bool {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		p.errorf(n, field, "want true or false, got %s", kindName(n))
		return false
	}
	return n.Value == "true"
}

// ParseRetention reads a retention period: a Go duration ("720h") or a
// number of days or weeks ("30d", "2w"); "0" keeps results forever.
func ParseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v < 1 || v > 36500/int(unit/(24*time.Hour)) {
				return 0, errors.New("want a duration like 30d, 2w or 720h, at most 100 years")
			}
			return time.Duration(v) * unit, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Minute {
		return 0, errors.New("want a duration like 30d, 2w or 720h, at least 1m")
	}
	return d, nil
}

// pageCredentials refuses static credentials the pre-call page would hand
// to every visitor: those in precall.servers, and those of the top-level
// servers when a precall section that is on tests them. A config without
// a precall section may be a CLI run's: there the page leaves such servers
// out (the CLI and the exporter use them as before).
func (p *configParser) pageCredentials(cfg *Config) {
	pc := cfg.Precall
	if pc == nil {
		return
	}
	for _, e := range p.static {
		switch {
		case e.list == "precall.servers":
			p.errorf(e.node, e.field, "a static TURN credential would go to every visitor of the pre-call page: "+
				"give a secret (TURN REST, minted per session) or, if anyone may have this one, set public_credential: true")
		case pc.Servers == nil && !pc.Disabled:
			p.errorf(e.node, e.field, "a static TURN credential would go to every visitor of the pre-call page (the precall section at %s tests these servers): "+
				"give a secret (TURN REST, minted per session), list the page's own servers under precall.servers, "+
				"or, if anyone may have this one, set public_credential: true", pc.Where)
		}
	}
}
