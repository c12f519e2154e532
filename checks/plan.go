package checks

import (
	"crypto/tls"
	"net"
	"net/url"
	"slices"
	"time"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/probes"
)

// Plan is what one run does: which checks, against which servers, with
// which settings and thresholds, and the resources the checks use.
type Plan struct {
	Servers []probes.Server
	Checks  []*Check
	// config.Settings are the run's options (the options table).
	Settings config.Settings
	// Thresholds overrides a check's thresholds by check ID.
	Thresholds map[string][]Threshold

	// What a run needs besides its options; none of it comes from a file.

	// TLS is used for stuns:/turns:/wss: targets; nil means the system's
	// roots.
	TLS *tls.Config
	// NATServers answer RFC 5780 NAT discovery; empty means the stun:
	// servers of the plan.
	NATServers []probes.Server
	// SignalingURLs are the ws:// and wss:// endpoints to check.
	SignalingURLs []*url.URL
	// Browsers are the run's browsers for the browser.* and interop
	// checks, each started on first use and shared by all the checks;
	// none fails them.
	Browsers []*browser.Session
	// Memo shares a measurement between the results it gives (the two
	// directions of an interop codec call); nil measures for each.
	Memo *Memo
	// Sockets lends the STUN probes over UDP the sockets earlier probes of
	// the same server left (see probes.UDPSockets); nil: none.
	Sockets *probes.UDPSockets
	// WHIP and WHEP are the media server endpoints named (--whip,
	// --whep, the config's whip: and whep:).
	WHIP, WHEP *probes.Endpoint
	// BroadcastWHIP and BroadcastWHEP are the embedded fan-out server's
	// endpoints: the broadcast check probes them when no WHIP/WHEP
	// endpoint is named.
	BroadcastWHIP, BroadcastWHEP *probes.Endpoint
	// BroadcastVia names the TURN servers the embedded fan-out relays
	// through (empty: direct).
	BroadcastVia string
	// Stats, when set, receives the peers' full stats every second.
	Stats *probes.StatsLog
	// ChecksAsked is true when the front end named every check it runs
	// (an exporter module): TCP to a URI that names UDP was then asked
	// for, and its failure fails instead of warning as an extra
	// diagnostic.
	ChecksAsked bool
	// Allowed, when set, says whether a check may send to an address a
	// server named rather than the user (RFC 5780 OTHER-ADDRESS): an
	// exporter module's allow-list covers those too. nil allows any.
	Allowed func(config.TargetParts) bool
	// StragglerGrace is how long the runner waits past the run's
	// deadline for a check that ignores it; 0 means StragglerGrace. A
	// front end that must answer by a time (the exporter) counts it in.
	StragglerGrace time.Duration
}

// follows returns whether a check probing s may send to an address s
// names, judged as s itself with that host and port; nil when the plan
// allows any.
func (p *Plan) follows(s probes.Server) func(*net.UDPAddr) bool {
	if p.Allowed == nil {
		return nil
	}
	return func(a *net.UDPAddr) bool {
		derived := s
		derived.URI.Host, derived.URI.Port = a.IP.String(), a.Port
		return p.Allowed(config.ServerTargetParts(derived))
	}
}

// ThresholdsFor returns the thresholds in force for c.
func (p *Plan) ThresholdsFor(c *Check) []Threshold {
	if t, ok := p.Thresholds[c.ID]; ok {
		return t
	}
	return c.Thresholds
}

// OptInAloneTime is the sum of the deadlines of the plan's opt-in jobs
// that run alone (load, interop.call): they run one at a time after all
// the others, and the default run deadline was made for the default run,
// which has none of them, so it grows by their time.
func (p *Plan) OptInAloneTime() time.Duration {
	var d time.Duration
	for _, j := range p.Jobs() {
		if j.Check.Exclusive && j.Check.OptIn {
			d += p.timeoutFor(j.Check)
		}
	}
	return d
}

// timeoutFor returns the deadline of one run of c.
func (p *Plan) timeoutFor(c *Check) time.Duration {
	if p.Settings.CheckTimeout > 0 {
		return p.Settings.CheckTimeout
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
			out = append(out, Subject{Name: s.String(), Target: probes.Target{Server: s, Transport: tr, TLS: p.TLS, Proxy: p.Settings.Proxy}})
		}
	}
	return out
}
