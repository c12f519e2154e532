package checks

import (
	"errors"
	"fmt"
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
	// PeerAllowedNetworks are the loopback, private, link-local and
	// shared (100.64/10) networks the server's pion peer may send ICE
	// checks to; by default it sends only to public addresses, so an
	// anonymous page cannot aim it at the operator's network.
	PeerAllowedNetworks []netip.Prefix
	// PeerAddresses are the only local addresses the server's pion peer
	// offers host candidates on; none means every interface's.
	PeerAddresses []netip.Addr
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
