package checks

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/internal/netsim"
	"github.com/rtcprobe/rtcprobe/probes"
)

// Plan is what one run does: which checks, against which servers, with
// which settings and thresholds.
type Plan struct {
	Servers []probes.Server
	Checks  []*Check
	Options Options
	// Thresholds overrides a check's thresholds by check ID.
	Thresholds map[string][]Threshold
	// Timeout bounds the whole run; CheckTimeout, when set, replaces each
	// check's own timeout.
	Timeout      time.Duration
	CheckTimeout time.Duration
	// Concurrency bounds how many checks run at once.
	Concurrency int
}

// Options are the probe settings a user can change.
type Options struct {
	// STUNCount is the number of Binding requests per STUN check.
	STUNCount int
	// TLS is used for stuns:/turns: targets (CA, --insecure).
	TLS *tls.Config
	// FirewallPorts are the --ports the firewall matrix adds to each
	// server's own port (each entry parses from "443" or "443/tls").
	FirewallPorts []PortSpec
	// NATServers answer RFC 5780 NAT discovery; empty means the stun:
	// servers of the plan.
	NATServers []probes.Server `yaml:"-"`
	// SignalingURLs are the ws:// and wss:// endpoints of --signaling.
	SignalingURLs []*url.URL `yaml:"-"`
	// Proxy is --proxy: the HTTP proxy for WebSocket and TCP/TLS
	// connections; nil means HTTPS_PROXY from the environment.
	Proxy *url.URL
	// TURNPackets is the number of relayed echo packets per TURN check
	// (0: the probe's default).
	TURNPackets int
	// Browser is the run's shared browser for the browser.* checks,
	// started on first use; nil skips them.
	Browser *browser.Session
	// RequireBrowser makes a missing browser fail the browser.* checks
	// instead of skipping them.
	RequireBrowser bool
	// MediaDuration is how long the media checks send (default 5s).
	MediaDuration time.Duration
	// Simulate, when set, runs the ice/media/datachannel checks over a
	// simulated network instead of the plan's servers.
	Simulate *netsim.Spec
	// Stats, when set, receives the peers' full stats every second.
	Stats *probes.StatsLog
}

// ThresholdsFor returns the thresholds in force for c.
func (p *Plan) ThresholdsFor(c *Check) []Threshold {
	if t, ok := p.Thresholds[c.ID]; ok {
		return t
	}
	return c.Thresholds
}

// timeoutFor returns the deadline of one run of c.
func (p *Plan) timeoutFor(c *Check) time.Duration {
	if p.CheckTimeout > 0 {
		return p.CheckTimeout
	}
	if c.TimeoutFor != nil {
		return c.TimeoutFor(p)
	}
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 5 * time.Second
}

// serverTargets lists (server, transport) pairs of servers that match keep,
// for the transport tr.
func (p *Plan) serverTargets(keep func(probes.Server) bool, tr probes.Transport) []Subject {
	var out []Subject
	for _, s := range p.Servers {
		if keep(s) && slices.Contains(s.Transports(), tr) {
			out = append(out, Subject{Name: s.String(), Target: probes.Target{Server: s, Transport: tr, TLS: p.Options.TLS, Proxy: p.Options.Proxy}})
		}
	}
	return out
}

// Select picks checks by ID or group from the catalogue, keeping
// catalogue order: "stun.udp,stun.tcp" or "stun". Unknown names are an
// error that names them.
func Select(all []*Check, spec string) ([]*Check, error) {
	if strings.TrimSpace(spec) == "" {
		return all, nil
	}
	want := map[string]bool{}
	for _, name := range strings.Split(spec, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		found := false
		for _, c := range all {
			if c.ID == name || c.Group() == name || strings.HasPrefix(c.ID, name+".") {
				want[c.ID], found = true, true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown check %q in --checks (see `rtcprobe list`)", name)
		}
	}
	var out []*Check
	for _, c := range all {
		if want[c.ID] {
			out = append(out, c)
		}
	}
	return out, nil
}
