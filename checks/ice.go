package checks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/internal/netsim"
	"github.com/rtcprobe/rtcprobe/probes"
)

var iceThresholds = []Threshold{
	MustThreshold(Warn, "connect_ms < 2000", "call set-up beyond 2 s (gathering + ICE + DTLS) is noticeable before the first word"),
	MustThreshold(Warn, "ice_rtt_ms < 300", "ITU-T G.114: 150 ms one-way (300 ms round trip) is the comfort limit"),
	MustThreshold(Fail, "ice_rtt_ms < 800", "ITU-T G.114: beyond 400 ms one-way (800 ms round trip), conversation breaks down"),
}

var iceMetrics = []string{"connect_ms", "ice_rtt_ms", "gathering_ms", "selected_relay", "ice_ms", "dtls_ms",
	"candidates_host", "candidates_srflx", "candidates_prflx", "candidates_relay"}

func iceChecks() []*Check {
	return []*Check{
		{
			ID:          "ice.all",
			Title:       "WebRTC connection (all candidates)",
			Description: "Connects two in-process WebRTC peers through every configured STUN/TURN server with all candidate types allowed; reports set-up times per stage, candidates, the selected pair and ICE RTT.",
			Metrics:     iceMetrics,
			Timeout:     10 * time.Second,
			Thresholds:  iceThresholds,
			Subjects: func(p *Plan) []Subject {
				if p.Settings.Simulate != nil {
					return []Subject{{Name: "simulated " + p.Settings.Simulate.String()}}
				}
				if len(iceServers(p.Servers)) == 0 {
					return nil
				}
				return []Subject{{Name: serverList(p.Servers)}}
			},
			Run: func(ctx context.Context, s Subject, p *Plan) probes.Measurement {
				return withPair(p, "ice.all", nil, func(cfg probes.PairConfig) probes.Measurement { return probes.ICE(ctx, cfg) })
			},
			Advice: iceAdvice,
			Needs:  callNeeds,
		},
		{
			ID:          "ice.relay",
			Title:       "WebRTC connection through TURN only",
			Description: "Connects two in-process WebRTC peers with ICETransportPolicy relay through each TURN server: TURN relay success as a browser sees it.",
			Metrics:     iceMetrics,
			Timeout:     10 * time.Second,
			Thresholds:  iceThresholds,
			Subjects: func(p *Plan) []Subject {
				if p.Settings.Simulate != nil {
					if !p.Settings.Simulate.TURN {
						return nil
					}
					return []Subject{{Name: "simulated " + p.Settings.Simulate.String()}}
				}
				var out []Subject
				for _, tr := range []probes.Transport{probes.UDP, probes.TCP} {
					for _, sub := range p.serverTargets(probes.Server.IsTURN, tr) {
						if sub.Target.Server.URI.Scheme == stun.SchemeTypeTURN {
							sub.Name += " over " + tr.Upper()
							out = append(out, sub)
						}
					}
				}
				return out
			},
			Run: func(ctx context.Context, s Subject, p *Plan) probes.Measurement {
				return withPair(p, "ice.relay", &s.Target, func(cfg probes.PairConfig) probes.Measurement {
					cfg.Relay = true
					return probes.ICE(ctx, cfg)
				})
			},
			Advice: iceAdvice,
			Needs:  "a turn: server (UDP or TCP), or a simulated network with TURN",
		},
	}
}

// callNeeds is what the checks between two peers need a plan to name.
const callNeeds = "a stun: or turn: server, or a simulated network"

// withPair builds the peers' configuration from the plan: the simulated
// network when --simulate is set, else the plan's servers (only relay's
// server when relay is set), and runs probe with it. label names the
// check in the --stats log.
func withPair(p *Plan, label string, relay *probes.Target, probe func(probes.PairConfig) probes.Measurement) probes.Measurement {
	if spec := p.Settings.Simulate; spec != nil {
		lab, err := startLab(*spec)
		if err != nil {
			return probes.Failed(fmt.Errorf("%w: simulated network: %v", errInternal, err))
		}
		defer lab.Close()
		cfg := probes.PairConfig{ICEServers: lab.ICEServers(), Nets: lab.Nets(), Stats: p.Stats, StatsLabel: label}
		if relay != nil {
			cfg.ICEServers = lab.TURNServers()
		}
		return probe(cfg)
	}
	cfg := probes.PairConfig{Loopback: probes.AllLoopback(p.Servers), Stats: p.Stats, StatsLabel: label}
	if relay != nil {
		cfg.ICEServers = []webrtc.ICEServer{probes.ICEServer(relay.Server, relay.Transport)}
	} else {
		cfg.ICEServers = iceServers(p.Servers)
	}
	return probe(cfg)
}

// iceServers lists the servers a browser would be given: stun: and turn:
// (stuns: has no browser support; turns: is probed by the TURN checks).
func iceServers(servers []probes.Server) []webrtc.ICEServer {
	var out []webrtc.ICEServer
	for _, s := range servers {
		switch s.URI.Scheme {
		case stun.SchemeTypeSTUN, stun.SchemeTypeTURN:
			out = append(out, probes.ICEServer(s, s.Transports()[0]))
		}
	}
	return out
}

func serverList(servers []probes.Server) string {
	names := make([]string, 0, len(servers))
	for _, s := range servers {
		if s.URI.Scheme == stun.SchemeTypeSTUN || s.URI.Scheme == stun.SchemeTypeTURN {
			names = append(names, s.String())
		}
	}
	return strings.Join(names, " + ")
}

// iceAdvice explains a failed stage in network terms.
func iceAdvice(r Result, m probes.Measurement) string {
	var ce *probes.ConnectError
	if errors.Is(m.Err, context.Canceled) {
		return "" // interrupted: nothing to advise
	}
	if !errors.As(m.Err, &ce) {
		if m.Err == nil && r.Status != Pass {
			// Gathering waits for every STUN/TURN server; one that never
			// answers costs its whole timeout, however short the path.
			if g, c := m.Metrics["gathering_ms"], m.Metrics["connect_ms"]; g > 1000 && g > c/2 {
				return "Most of the time went into gathering candidates: a configured STUN or TURN server did not answer (see its stun.*/turn.* rows). Browsers wait for it too; fix or remove that server."
			}
			return "The connection works but is slow: a long path to the TURN server or between the peers; prefer a TURN server closer to the users."
		}
		return ""
	}
	switch ce.Stage {
	case probes.StageGathering:
		if errors.Is(ce, probes.ErrNoRelay) {
			return "The TURN server gave no relay address: check the credentials and that it allows allocations (see the turn.* checks for the exact error)."
		}
		return "No ICE candidate at all: no usable network interface or ICE server."
	case probes.StageICE:
		if m.Metrics["candidates_relay"] == 0 {
			return "No candidate pair worked and no relay was available: the peers' NATs or firewalls need a relay. Configure a TURN server (ideally also TURN over TLS on port 443)."
		}
		return "Even relayed pairs failed: the TURN server's relay ports (usually UDP 49152-65535) may be firewalled, or it refuses to relay to these peers."
	case probes.StageDTLS:
		return "ICE connected but the DTLS handshake failed: something on the path passes small STUN packets but drops larger UDP packets (MTU problems, deep packet inspection)."
	case probes.StageDataChannel:
		return "The data channel (SCTP over DTLS) stalled: heavy packet loss, or a path that drops larger UDP packets."
	case probes.StageMedia:
		return "The connection dropped during the test: a NAT binding or firewall state timed out, or the path lost too many packets for consent checks."
	}
	return ""
}

// startLab is netsim.Start; a variable so the lab is built in one place.
var startLab = netsim.Start
