package checks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

func isTURN(s probes.Server) bool { return s.IsTURN() }

var turnThresholds = []Threshold{
	MustThreshold(Warn, "alloc_ms < 500", "an Allocate is two round trips (401 challenge, then with credentials); slower delays relay candidates and call setup"),
	MustThreshold(Warn, "rtt_p95_ms < 150", "ITU-T G.114: 150 ms one-way is the comfort limit; relayed media already spends it here"),
	MustThreshold(Fail, "rtt_p95_ms < 400", "ITU-T G.114: beyond 400 ms one-way, conversation breaks down"),
	MustThreshold(Warn, "loss_pct < 2", "Opus FEC and NACK hide about 2 % loss; beyond that audio and video degrade"),
	MustThreshold(Fail, "loss_pct < 20", "at 20 % loss or more, relayed audio breaks up and video freezes"),
	MustThreshold(Warn, "relay_unroutable == 0", "a public TURN server must hand out relayed addresses remote peers can reach"),
}

func turnChecks() []*Check {
	mk := func(tr probes.Transport, title string) *Check {
		c := &Check{
			ID:    "turn." + string(tr),
			Title: title,
			Description: "Allocates two relays over " + tr.Upper() + " with the server's credentials and sends packets from one " +
				"relayed address to the other and back: allocation time, relayed round-trip time, loss, relayed address, IPv6 relay.",
			Metrics: []string{"rtt_median_ms", "loss_pct", "alloc_ms", "rtt_p95_ms", "rtt_min_ms", "rtt_max_ms",
				"packets_sent", "packets_received", "connect_ms", "relay_ipv6", "relay_unroutable"},
			Timeout:    6 * time.Second,
			Thresholds: turnThresholds,
			Subjects:   func(p *Plan) []Subject { return p.serverTargets(isTURN, tr) },
			Run: func(ctx context.Context, s Subject, p *Plan) probes.Measurement {
				return probes.TURN(ctx, s.Target, probes.TURNConfig{Packets: p.Settings.TURNPackets})
			},
			Advice: turnAdvice,
			Needs:  "a turn: or turns: server",
		}
		if tr == probes.UDP {
			c.Across = udpBlockedAcross
		}
		return c
	}
	return []*Check{
		mk(probes.UDP, "TURN relay over UDP"),
		mk(probes.TCP, "TURN relay over TCP"),
		mk(probes.TLS, "TURN relay over TLS"),
		mk(probes.DTLS, "TURN relay over DTLS"),
	}
}

// turnAdvice explains a TURN result that is not pass.
func turnAdvice(r Result, m probes.Measurement) string {
	var se *probes.STUNError
	if errors.As(m.Err, &se) && se.Code == 403 && se.Request != "Allocate" {
		return fmt.Sprintf("The server allocated a relay but refused the %s for the peer (403): its policy denies relaying to that address. "+
			"coturn denies loopback peers without --allow-loopback-peers and may deny private ranges (denied-peer-ip).", se.Request)
	}
	if m.Err != nil {
		return "" // advice on the error type
	}
	v := m.Metrics
	switch {
	case v["packets_received"] == 0 && v["packets_sent"] > 0:
		return "Both relays were allocated but no relayed packet came back: the server cannot send from one of its relayed " +
			"addresses to another. Check relay-ip/external-ip and the relay port range in the firewall, and that peers on that " +
			"address are allowed (coturn: --allow-loopback-peers for loopback, denied-peer-ip)."
	case v["relay_unroutable"] == 1:
		return fmt.Sprintf("The server is public but handed out the relayed address %s, which remote peers cannot reach: "+
			"set the server's external IP (coturn: external-ip=PUBLIC/PRIVATE) when it runs behind NAT.", evidence(m, "relayed_address"))
	case v["loss_pct"] > 0:
		return "Relayed packets were lost: on the path to the server, or in the server itself (CPU, bandwidth quota such as coturn's max-bps)."
	case v["rtt_p95_ms"] >= 150:
		return "The relay adds a lot of delay: use a TURN server closer to the users, or check the server's load."
	case v["alloc_ms"] >= 500:
		return "Allocation is slow: the server is far away or overloaded (coturn: check its CPU and the user database)."
	}
	return ""
}

func evidence(m probes.Measurement, name string) string {
	for _, e := range m.Evidence {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// udpBlockedAcross is turn.udp's rule across results: when TURN over UDP
// fails on a host where TURN over TCP or TLS relays, UDP is blocked on the
// path, and clients need TURN over TCP/TLS.
func udpBlockedAcross(mine []*Result, all []Result) {
	for _, r := range mine {
		if r.Status != Fail {
			continue
		}
		host := r.Subject.Target.Server.URI.Host
		var working []string
		for _, o := range all {
			tr := o.Subject.Target.Transport
			if (o.CheckID == "turn.tcp" || o.CheckID == "turn.tls") && (o.Status == Pass || o.Status == Warn) &&
				o.Subject.Target.Server.URI.Host == host && !slices.Contains(working, tr.Upper()) {
				working = append(working, tr.Upper())
			}
		}
		if len(working) == 0 {
			continue
		}
		cross := fmt.Sprintf("TURN over %s works on %s but not over UDP: UDP is blocked on the path. "+
			"Clients behind this network will need TURN over TCP or TLS, ideally TLS on port 443 (turns:%s:443?transport=tcp), which firewalls rarely block.",
			strings.Join(working, " and "), host, bracket(host))
		if r.Advice != "" {
			cross += " " + r.Advice
		}
		r.Advice = cross
	}
}

func bracket(h string) string {
	if ip := net.ParseIP(h); ip != nil && ip.To4() == nil {
		return "[" + h + "]"
	}
	return h
}
