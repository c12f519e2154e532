package config

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
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
	// ResultsPerHour caps the results one client address stores an hour
	// (its /24 or /48 network five times as many); 0 means the default.
	ResultsPerHour int
	// Sessions are the caps on sessions in progress the section sets (0:
	// not set).
	Sessions SessionLimits
	// Origins are the page's own origins (scheme://host[:port]) besides
	// the host it is reached at, for a proxy that rewrites Host.
	Origins []string
	// PeerAllowedNetworks are the loopback, private, link-local and
	// shared (100.64/10) networks the server's pion peer may send ICE
	// checks to; by default it sends only to public addresses, so an
	// anonymous page cannot aim it at the operator's network.
	PeerAllowedNetworks []netip.Prefix
	// PeerAddresses are the only local addresses the server's pion peer
	// offers host candidates on; none means every interface's.
	PeerAddresses []netip.Addr
}

// SessionLimits cap the pre-call page's sessions in progress: in all
// (Max), from one client address (an IPv4 address, an IPv6 /64) and from
// one network (an IPv4 /24, an IPv6 /48), so that one address or one
// network cannot take the page from everyone else.
type SessionLimits struct {
	Max, PerAddress, PerNetwork int
}

// DefaultMaxSessions is the page's cap on sessions in progress.
const DefaultMaxSessions = 100

// maxSessionsLimit bounds max_sessions: each session may hold a call
// with the server's peers.
const maxSessionsLimit = 10000

// Resolved fills what l leaves out: Max from def (else
// DefaultMaxSessions), each share from def, else from Max. One address
// gets a thirty-second of the cap, at least 2 (a household may run two
// checks at once); one network an eighth, at least 4, so it takes eight
// networks to fill the cap. Shares stay within Max, and a network's is at
// least an address's.
func (l SessionLimits) Resolved(def SessionLimits) SessionLimits {
	out := SessionLimits{Max: cmp.Or(l.Max, def.Max, DefaultMaxSessions)}
	out.PerAddress = min(out.Max, cmp.Or(l.PerAddress, def.PerAddress, max(2, out.Max/32)))
	out.PerNetwork = min(out.Max, max(out.PerAddress, cmp.Or(l.PerNetwork, def.PerNetwork, max(4, out.Max/8))))
	return out
}

func (p *configParser) precall(k, n *yaml.Node) *Precall {
	pc := &Precall{Where: fmt.Sprintf("%s:%d", p.file, k.Line)}
	var perAddress, perNetwork *yaml.Node
	defer func() {
		// The shares as given must fit the cap (as given or default).
		l := pc.Sessions.Resolved(SessionLimits{})
		addressFits := perAddress == nil || pc.Sessions.PerAddress <= l.Max
		if !addressFits {
			p.errorf(perAddress, "precall.max_sessions_per_address", "%d is more than max_sessions (%d)", pc.Sessions.PerAddress, l.Max)
		}
		switch {
		case perNetwork == nil || pc.Sessions.PerNetwork == 0:
		case pc.Sessions.PerNetwork > l.Max:
			p.errorf(perNetwork, "precall.max_sessions_per_network", "%d is more than max_sessions (%d)", pc.Sessions.PerNetwork, l.Max)
		case addressFits && pc.Sessions.PerNetwork < l.PerAddress:
			p.errorf(perNetwork, "precall.max_sessions_per_network", "%d is less than max_sessions_per_address (%d): a network holds at least an address's share", pc.Sessions.PerNetwork, l.PerAddress)
		}
	}()
	p.fields(n, "precall", map[string]func(k, v *yaml.Node){
		"enabled":             func(k, v *yaml.Node) { pc.Disabled = !p.boolean(v, "precall.enabled") },
		"servers":             func(k, v *yaml.Node) { pc.Servers = p.serverList(v, "precall.servers") },
		"profile":             func(k, v *yaml.Node) { pc.Profile = p.str(v, "precall.profile") },
		"full_client_address": func(k, v *yaml.Node) { pc.FullClientAddress = p.boolean(v, "precall.full_client_address") },
		"results_per_hour": func(k, v *yaml.Node) {
			n, err := strconv.Atoi(v.Value)
			if v.Kind != yaml.ScalarNode || err != nil || n < 1 || n > 100000 {
				p.errorf(v, "precall.results_per_hour", "invalid value %s (want a whole number from 1 to 100000)", kindName(v))
				return
			}
			pc.ResultsPerHour = n
		},
		"max_sessions": func(k, v *yaml.Node) {
			pc.Sessions.Max = p.count(v, "precall.max_sessions", maxSessionsLimit)
		},
		"max_sessions_per_address": func(k, v *yaml.Node) {
			pc.Sessions.PerAddress, perAddress = p.count(v, "precall.max_sessions_per_address", maxSessionsLimit), v
		},
		"max_sessions_per_network": func(k, v *yaml.Node) {
			pc.Sessions.PerNetwork, perNetwork = p.count(v, "precall.max_sessions_per_network", maxSessionsLimit), v
		},
		"origins": func(k, v *yaml.Node) { pc.Origins = p.origins(v, "precall.origins") },
		"retention": func(k, v *yaml.Node) {
			d, err := ParseRetention(v.Value)
			if v.Kind != yaml.ScalarNode || err != nil {
				p.errorf(v, "precall.retention", "invalid value %s (%v)", kindName(v), err)
				return
			}
			pc.Retention = d
		},
		"peer_allowed_networks": func(k, v *yaml.Node) {
			pc.PeerAllowedNetworks = p.networks(v, "precall.peer_allowed_networks")
		},
		"peer_addresses": func(k, v *yaml.Node) { pc.PeerAddresses = p.addresses(v, "precall.peer_addresses") },
	})
	return pc
}

// networks reads a list of CIDR prefixes (an address alone is its own
// /32 or /128); a multicast or unspecified network is refused, as the
// peer never sends there.
func (p *configParser) networks(n *yaml.Node, field string) []netip.Prefix {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, field, "want a list of networks like 10.0.0.0/8, got %s", kindName(n))
		return nil
	}
	var out []netip.Prefix
	for _, e := range n.Content {
		s := p.str(e, field)
		pre, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil || a.Zone() != "" {
				p.errorf(e, field, "invalid network %q (want a CIDR like 10.0.0.0/8 or an address)", s)
				continue
			}
			pre = netip.PrefixFrom(a, a.BitLen())
		}
		if a := pre.Addr(); a.Is4In6() && pre.Bits() >= 96 {
			pre = netip.PrefixFrom(a.Unmap(), pre.Bits()-96)
		}
		pre = pre.Masked()
		if a := pre.Addr(); a.IsMulticast() || (a.IsUnspecified() && pre.Bits() == a.BitLen()) {
			p.errorf(e, field, "%s: the peer never sends to multicast or unspecified addresses", s)
			continue
		}
		out = append(out, pre)
	}
	return out
}

// addresses reads a list of unicast IP addresses of this host.
func (p *configParser) addresses(n *yaml.Node, field string) []netip.Addr {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, field, "want a list of IP addresses, got %s", kindName(n))
		return nil
	}
	var out []netip.Addr
	for _, e := range n.Content {
		s := p.str(e, field)
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" || a.IsUnspecified() || a.IsMulticast() {
			p.errorf(e, field, "invalid address %q (want a unicast IP address of this host, like 203.0.113.5)", s)
			continue
		}
		out = append(out, a.Unmap())
	}
	return out
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

// count reads a whole number from 1 to most.
func (p *configParser) count(n *yaml.Node, field string, most int) int {
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil || v < 1 || v > most {
		p.errorf(n, field, "invalid value %s (want a whole number from 1 to %d)", kindName(n), most)
		return 0
	}
	return v
}

// origins reads the page's own origins: each scheme://host[:port], as a
// browser sends in its Origin header.
func (p *configParser) origins(n *yaml.Node, field string) []string {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, field, "want a list of origins like https://precall.example.com, got %s", kindName(n))
		return nil
	}
	var out []string
	for i, it := range n.Content {
		f := fmt.Sprintf("%s[%d]", field, i)
		o := p.str(it, f)
		if o == "" {
			continue
		}
		if err := http.NewCrossOriginProtection().AddTrustedOrigin(o); err != nil {
			p.errorf(it, f, "invalid origin %q (want scheme://host[:port], no path, like https://precall.example.com)", clip(o, 100))
			continue
		}
		out = append(out, o)
	}
	return out
}

// clip cuts s to n bytes for a message.
func clip(s string, n int) string {
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}
