package checks

import (
	"cmp"
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
	MustThreshold(Warn, "loss_pct < 2", "one-way: Opus FEC and NACK hide about 2 % loss; beyond that audio and video degrade"),
	MustThreshold(Fail, "loss_pct < 20", "one-way: at 20 % loss or more, relayed audio breaks up and video freezes"),
	MustThreshold(Fail, "loss_ab_pct < 20", "one direction alone losing 20 % breaks the media flowing that way"),
	MustThreshold(Fail, "loss_ba_pct < 20", "one direction alone losing 20 % breaks the media flowing that way"),
	MustThreshold(Warn, "relay_unroutable == 0", "a public TURN server must hand out relayed addresses remote peers can reach"),
	MustThreshold(Fail, "channel_data_relayed == 1", "browsers send media as ChannelData once a channel is bound"),
	MustThreshold(Fail, "bindings_expired == 0", "clients refresh channels and permissions on RFC 8656's schedule; earlier expiry drops their media"),
	MustThreshold(Warn, "quota_held == 0", "the user quota left no room for the relay test's second allocation"),
	MustThreshold(Warn, "capacity_held == 0", "the server had no capacity (508) for the relay test's second allocation"),
	MustThreshold(Warn, "relay_default_ipv6 == 0", "RFC 8656 §7.2: an Allocate that names no address family, as browsers send it, gets an IPv4 relay"),
	// Servers give the remaining lifetime, a second or so under what they
	// granted (ejabberd: 599 s); what hurts is far shorter.
	MustThreshold(Warn, "lifetime_s >= 300", "RFC 8656 §7.2 grants the default, 10 min, to an Allocate that asks for none; under half of it clients refresh far more often than they plan for (browsers a minute before expiry), and one lost refresh drops the relay"),
}

func turnChecks() []*Check {
	mk := func(tr probes.Transport, title string) *Check {
		c := &Check{
			ID:    "turn." + string(tr),
			Title: title,
			Description: "Allocates two relays over " + tr.Upper() + " with the server's credentials and sends packets from one " +
				"relayed address to the other and back: allocation time, relayed round-trip time, loss, relayed address, IPv6 relay.",
			Metrics: []string{"rtt_median_ms", "loss_pct", "alloc_ms", "loss_ab_pct", "loss_ba_pct", "loss_rtt_pct", "rtt_p95_ms", "rtt_min_ms", "rtt_max_ms",
				"packets_sent", "packets_at_peer", "packets_received", "connect_ms", "relay_ipv6", "relay_unroutable",
				"channel_data_relayed", "bindings_expired", "quota_held", "capacity_held", "relay_default_ipv6", "lifetime_s", "loss_runs"},
			Sometimes: map[string]string{
				"connect_ms":       "over TCP, TLS and DTLS",
				"relay_ipv6":       "1 granted, 0 refused with 440 or 442; absent when unknown (asked over TCP when the server has it)",
				"bindings_expired": "1 when the server expired the channel and permission early",
				"quota_held":       "1 when the server refused the second allocation with 486",
				"capacity_held":    "1 when the server refused the second allocation with 508",
			},
			Timeout:    6 * time.Second,
			Serial:     func(s Subject) string { return turnQuotaKey(s.Target.Server) },
			Thresholds: turnThresholds,
			Subjects:   func(p *Plan) []Subject { return markExtraTCP(p, p.serverTargets(isTURN, tr)) },
			Run: func(ctx context.Context, s Subject, p *Plan) probes.Measurement {
				return probes.TURN(ctx, s.Target, probes.TURNConfig{Packets: p.Settings.TURNPackets, Interval: p.Settings.TURNInterval,
					SkipIPv6: !p.Settings.TURNIPv6 || askIPv6Elsewhere(s.Target)})
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
	if errors.As(m.Err, &se) && se.Code == 440 {
		return fmt.Sprintf("The server refused an IPv4 relay, the family rtcprobe (like browsers) asks for by default (%s). "+
			"Give the server an IPv4 relay address (coturn: relay-ip), or clients get no relay candidate from it.", evidence(m, "relay_family"))
	}
	if errors.As(m.Err, &se) && se.Code == 486 && evidence(m, "own_releases") != "" && !bandwidthQuota(se.Reason) {
		return "Allocation quota reached on the first allocation, and the server may still count allocations rtcprobe itself released (" + evidence(m, "own_releases") +
			"): it frees released allocations late (coturn does so on a timer, later on a loaded host). This is rtcprobe's own use, not other clients': run again, or raise the user quota (coturn: user-quota)."
	}
	if errors.As(m.Err, &se) && se.Code == 508 && evidence(m, "own_releases") != "" {
		return "No capacity for the first allocation (508), and the server may still hold the relay ports of allocations rtcprobe itself released (" + evidence(m, "own_releases") +
			"): it frees them late (coturn does so on a timer). Run again; if 508 persists, the server is out of relay ports or sockets (coturn: min-port, max-port)."
	}
	if m.Err != nil {
		return "" // the diagnosis table reads the error
	}
	return joinSentences(measuredAdvice(r, m), grantAdvice(m))
}

// measuredAdvice explains what the relay test measured, or why it could
// not measure.
func measuredAdvice(r Result, m probes.Measurement) string {
	v := m.Metrics
	switch {
	case v["quota_held"] > 0:
		return secondAllocationAdvice(r, v["quota_held"])
	case v["capacity_held"] > 0:
		return noCapacityAdvice(r, m)
	case v["bindings_expired"] == 1:
		return "The server stopped relaying mid-test until the channel and permission were bound again: it expires channel bindings or permissions sooner than RFC 8656 allows (10 min, 5 min), " +
			"so calls lose media after that time (coturn: channel-lifetime, permission-lifetime; keep the defaults)."
	case hasMetric(v, "channel_data_relayed", 0):
		return "The server accepts ChannelBind but does not relay ChannelData, the framing browsers use for media once a channel is bound: calls through it get no relayed media. " +
			"Send/Data indications work, so this is a server bug, not the path: update or replace the TURN server."
	case v["packets_received"] == 0 && v["packets_sent"] > 0:
		return "Both relays were allocated but no relayed packet came back: the server cannot send from one of its relayed " +
			"addresses to another. Check relay-ip/external-ip and the relay port range in the firewall, and that peers on that " +
			"address are allowed (coturn: --allow-loopback-peers for loopback, denied-peer-ip)."
	case v["relay_unroutable"] == 1:
		return fmt.Sprintf("The server is public but handed out the relayed address %s, which remote peers cannot reach: "+
			"set the server's external IP (coturn: external-ip=PUBLIC/PRIVATE) when it runs behind NAT.", evidence(m, "relayed_address"))
	case v["loss_pct"] > 0:
		return fmt.Sprintf("Relayed packets were lost (relay A → B %s %%, B → A %s %%, one way each): on the path to the server, or in the server itself (CPU, bandwidth quota such as coturn's max-bps).",
			FormatNumber(v["loss_ab_pct"]), FormatNumber(v["loss_ba_pct"]))
	case v["rtt_p95_ms"] >= 150:
		return "The relay adds a lot of delay: use a TURN server closer to the users, or check the server's load."
	case v["alloc_ms"] >= 500:
		return "Allocation is slow: the server is far away or overloaded (coturn: check its CPU and the user database)."
	}
	return ""
}

// grantAdvice explains what the server granted to an Allocate that named
// no address family and no lifetime, as a browser's does, when it is not
// RFC 8656's default.
func grantAdvice(m probes.Measurement) string {
	v := m.Metrics
	var out []string
	if v["relay_default_ipv6"] == 1 {
		out = append(out, fmt.Sprintf("The server gave an IPv6 relay (%s) to an Allocate that named no address family, where RFC 8656 §7.2 gives IPv4: "+
			"browsers name none, so they get only IPv6 relay candidates from this server, which peers on IPv4-only networks cannot reach. "+
			"Make IPv4 the default again (coturn: allocation-default-address-family=ipv4, its default).", evidence(m, "relayed_address")))
	}
	if lt, ok := v["lifetime_s"]; ok && lt < 300 {
		out = append(out, fmt.Sprintf("The server granted allocations a lifetime of %s s, where RFC 8656 §7.2 grants the default, 600 s, to a client that asks for none: "+
			"every client has to refresh each allocation within %s s, and one whose refresh is late or lost on the way loses its relay mid-call "+
			"(rtcprobe refreshed on the granted lifetime). Keep it at 600 s or more (coturn: max-allocate-lifetime).", FormatNumber(lt), FormatNumber(lt)))
	}
	return strings.Join(out, " ")
}

// noCapacityAdvice reads a 508 to the relay test's second allocation:
// the server is out of relay ports or sockets with one allocation of
// rtcprobe's held. That room is the server's, whoever the user, and one
// probe cannot see how much of it others hold.
func noCapacityAdvice(r Result, m probes.Measurement) string {
	reason := ""
	for _, o := range r.Observations {
		if o.Step == "second Allocate request" && o.Code == 508 {
			reason = o.Reason
		}
	}
	return fmt.Sprintf("The server granted one relay (%s) but had no capacity for a second (508 %s) while rtcprobe held that one: it is out of relay ports or sockets, whoever the user. "+
		"Cannot tell from here: its relay port range is that small (coturn: min-port, max-port); or other clients hold the rest of its relay ports. "+
		"To tell them apart, compare the server's relay port range with the allocations it holds (coturn logs each allocation). "+
		"A client needs one allocation per call; rtcprobe's relay test needs two, so relaying was not measured.",
		evidence(m, "relayed_address"), cmp.Or(reason, "without a reason phrase"))
}

// secondAllocationAdvice reads the 486 that refused the relay test's
// second allocation by its reason phrase and by what rtcprobe itself held.
// coturn sends "Allocation Bandwidth Quota Reached" when its bandwidth
// capacity (bps-capacity, shared by every session with a max-bps) is used
// up, and "Allocation Quota Reached" for both the per-user quota
// (user-quota) and the server's total quota (total-quota): that phrase
// leaves the two open, and allocations released moments before (by an
// earlier run, or another client) that the server still counts.
func secondAllocationAdvice(r Result, held float64) string {
	reason := ""
	for _, o := range r.Observations {
		if o.Step == "second Allocate request" && o.Code == 486 {
			reason = o.Reason
		}
	}
	const why = "A client needs one allocation per call; rtcprobe's relay test needs two, so relaying was not measured."
	if bandwidthQuota(reason) {
		return fmt.Sprintf("The server granted one relay but refused a second with 486 %s while rtcprobe held %s: its bandwidth capacity is used up, whoever the user, not a per-user allocation quota "+
			"(coturn: bps-capacity, which every session with a max-bps draws on). %s Raise bps-capacity or lower max-bps to test relaying.", reason, FormatNumber(held), why)
	}
	return fmt.Sprintf("The server granted one relay but refused a second (486 %s) while rtcprobe held %s for this user. "+
		"Cannot tell from here: this user may hold only %s allocation(s) (coturn: user-quota); or the server's total quota is reached, whoever the user (coturn: total-quota); "+
		"or allocations released moments before, by an earlier run or another client, are still counted (coturn frees one about a second after its release). "+
		"To tell them apart, run again in a few seconds, then with another username ({option:username=another} or, with a TURN REST secret, {option:rest_user=another}): refused for every user means total-quota, for this user only user-quota. %s",
		cmp.Or(reason, "without a reason phrase"), FormatNumber(held), FormatNumber(held), why)
}

// bandwidthQuota: a 486 reason phrase that names bandwidth (coturn's
// bps-capacity) rather than a count of allocations.
func bandwidthQuota(reason string) bool {
	return strings.Contains(strings.ToLower(reason), "bandwidth")
}

// askIPv6Elsewhere: the IPv6 relay question is asked over TCP when the
// server offers it, not over UDP. A refused Allocate over UDP stays
// counted against the user's quota until the server times the session out
// (coturn 4.6), while closing a TCP connection frees it at once.
func askIPv6Elsewhere(t probes.Target) bool {
	return t.Transport == probes.UDP && slices.Contains(t.Server.Transports(), probes.TCP)
}

// turnQuotaKey names the allocation quota a TURN server's runs draw on:
// the user on that host. Checks that allocate declare it, so their
// allocations come one check after another instead of exhausting the
// quota themselves. A TURN check lends the key until its first
// authenticated request (probes.QuotaLease): waiting on a silent server
// it holds none of the quota.
func turnQuotaKey(s probes.Server) string {
	if !s.IsTURN() || s.Username == "" {
		return ""
	}
	return "turn-quota " + s.Username + "@" + s.URI.Host
}

func hasMetric(v map[string]float64, name string, want float64) bool {
	got, ok := v[name]
	return ok && got == want
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
// gets no answer on a host where TURN over TCP or TLS relays, UDP is
// blocked on the path, and clients need TURN over TCP/TLS. When the host
// itself refuses UDP, the server does not listen there: no path problem.
func udpBlockedAcross(mine []*Result, all []Result) {
	for _, r := range mine {
		if r.Status != Fail || !refusedByHost(*r) && !unanswered(*r) {
			continue // passed, or the server answered over UDP: the path is open
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
		if refusedByHost(*r) {
			cross = fmt.Sprintf("TURN over %s works on %s, and the server host itself refuses UDP (ICMP port unreachable): the server does not listen on UDP there, which no firewall on the path causes. "+
				"Every client, not only those behind strict firewalls, has to relay over TCP or TLS: enable UDP on the server (coturn: remove no-udp, check listening-port) unless that is intended.",
				strings.Join(working, " and "), host)
		}
		if r.Advice != "" {
			cross += " " + r.Advice
		}
		r.Advice = cross
	}
}

// refusedByHost tells a UDP failure the server's host answered (ICMP port
// unreachable) from a silent drop on the path.
func refusedByHost(r Result) bool {
	var refused *probes.RefusedError
	return errors.As(r.Cause, &refused) && refused.Transport.Network() == "udp"
}

// unanswered: nothing came back at all.
func unanswered(r Result) bool {
	var timeout *probes.TimeoutError
	return errors.As(r.Cause, &timeout) && timeout.Stage == probes.StageFirstAnswer
}

func bracket(h string) string {
	if ip := net.ParseIP(h); ip != nil && ip.To4() == nil {
		return "[" + h + "]"
	}
	return h
}
