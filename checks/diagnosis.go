package checks

import (
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/rtcprobe/rtcprobe/probes"
)

// Family is a group of checks whose exchanges mean the same things: a
// row written for STUN never advises a WebSocket check.
type Family string

// The probe families.
const (
	FamilySTUN      Family = "stun" // STUN and TURN exchanges: stun, turn, nat, load, firewall
	FamilyWebSocket Family = "websocket"
	FamilyWHIP      Family = "whip" // WHIP and WHEP: whip, whep, broadcast
	FamilyWebRTC    Family = "webrtc"
)

// FamilyOf is the family of a check by its group.
func FamilyOf(checkID string) Family {
	switch Group(checkID) {
	case "stun", "turn", "nat", "load", "firewall", "audit":
		return FamilySTUN
	case "signaling":
		return FamilyWebSocket
	case "whip", "whep", "broadcast":
		return FamilyWHIP
	}
	return FamilyWebRTC
}

// row is one line of a diagnosis table: when the observations look like
// this, they mean that. The texts may name {to}, {host}, {port}, {net},
// {step}, {code}, {reason}, {icmp}, {from}, {bytes}, {note}, {realm},
// {headers} (the answer's explaining headers, quoted), {protocol} (its
// Sec-WebSocket-Protocol) and {followup} (the follow-up's status).
type row struct {
	id         string
	families   []Family // nil: every family
	when       match
	cause      string
	candidates []string
	tellApart  string
	advice     string
	refs       []string
}

// match is what a row asks of the final observation (the one that ended
// the probe) and, optionally, of a follow-up observation.
type match struct {
	outcome   probes.Outcome
	transport string // the observation's transport exactly ("dtls")
	net       string // "udp" or "tcp": the transport's network
	step      string // the step begins with it
	codes     []int
	reason    string // the reason phrase contains it (any case)
	note      string // the note contains it
	icmp      icmpClass
	// elsewhere: the ICMP error came from an address other than the
	// target's (a router or firewall on the path).
	elsewhere *bool
	// followUp, when set, must match a "follow-up: " observation.
	followUp *match
	// outcomes: the outcome is one of these.
	outcomes []probes.Outcome
	// header: the answer carries this header (canonical form).
	header string
	// says and saysNot: what the answer said (the reason header, body or
	// first bytes) contains it, or does not (any case).
	says, saysNot string
	// bytesPrefix: the first bytes begin with it.
	bytesPrefix string
}

type icmpClass int

const (
	icmpAny icmpClass = iota
	icmpPort
	icmpProhibited
	icmpUnreachable // net, host or address unreachable: no route
)

func (m match) holds(o probes.Observation, all []probes.Observation) bool {
	switch {
	case m.outcome != "" && o.Outcome != m.outcome,
		m.transport != "" && o.Transport != m.transport,
		m.net != "" && probes.Transport(o.Transport).Network() != m.net,
		m.step != "" && !strings.HasPrefix(o.Step, m.step),
		len(m.codes) > 0 && !slices.Contains(m.codes, o.Code),
		m.reason != "" && !strings.Contains(strings.ToLower(o.Reason), strings.ToLower(m.reason)),
		m.note != "" && !strings.Contains(o.Note, m.note),
		!m.icmpHolds(o),
		len(m.outcomes) > 0 && !slices.Contains(m.outcomes, o.Outcome),
		m.header != "" && o.Headers[m.header] == "",
		m.says != "" && !strings.Contains(said(o), strings.ToLower(m.says)),
		m.saysNot != "" && strings.Contains(said(o), strings.ToLower(m.saysNot)),
		m.bytesPrefix != "" && !strings.HasPrefix(o.Bytes, m.bytesPrefix):
		return false
	}
	if m.elsewhere != nil {
		if o.ICMP == nil || o.ICMP.From == "" || (o.ICMP.From != hostPart(o.To)) != *m.elsewhere {
			return false
		}
	}
	if m.followUp != nil {
		return slices.ContainsFunc(all, func(f probes.Observation) bool {
			return strings.HasPrefix(f.Step, "follow-up: ") && m.followUp.holds(f, nil)
		})
	}
	return true
}

func (m match) icmpHolds(o probes.Observation) bool {
	if m.icmp == icmpAny {
		return true
	}
	if o.ICMP == nil {
		return false
	}
	r := *o.ICMP
	switch m.icmp {
	case icmpPort:
		return r.PortUnreachable()
	case icmpProhibited:
		return r.Prohibited()
	case icmpUnreachable:
		return !r.PortUnreachable() && !r.Prohibited()
	}
	return false
}

// Diagnose reads a failed result's observations with its family's table.
// ok is false when there is nothing to read or no row fits: then nothing
// is claimed.
func Diagnose(f Family, obs []probes.Observation) (Diagnosis, bool) {
	if len(obs) == 0 {
		return Diagnosis{}, false
	}
	final := obs[len(obs)-1]
	for _, r := range diagnosisTable {
		if r.families != nil && !slices.Contains(r.families, f) {
			continue
		}
		if !r.when.holds(final, obs) {
			continue
		}
		fill := placeholders(final, followUp(obs))
		d := Diagnosis{Rule: r.id, Cause: fill.Replace(r.cause), TellApart: fill.Replace(r.tellApart),
			Advice: fill.Replace(r.advice), Refs: r.refs}
		for _, c := range r.candidates {
			d.Candidates = append(d.Candidates, fill.Replace(c))
		}
		return d, true
	}
	return Diagnosis{}, false
}

// said is what an answer said in its own words, lower case: the reason
// header of a refusal and its first bytes (a refusal's body).
func said(o probes.Observation) string {
	return strings.ToLower(o.Headers["X-Websocket-Reject-Reason"] + " " + o.Bytes)
}

// followUp is the last follow-up observation, if any.
func followUp(obs []probes.Observation) probes.Observation {
	for i := len(obs) - 1; i >= 0; i-- {
		if strings.HasPrefix(obs[i].Step, "follow-up: ") {
			return obs[i]
		}
	}
	return probes.Observation{}
}

// quoted are an answer's explaining headers as "; Name: "value", …", in
// a stable order, spelt as documentation spells them, and a refusal's
// body.
func quoted(o probes.Observation) string {
	names := make([]string, 0, len(o.Headers))
	for name := range o.Headers {
		if name != "Server" && name != "Via" && name != "REALM" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var parts []string
	for _, name := range names {
		spelt := strings.NewReplacer("Websocket", "WebSocket", "Www-", "WWW-").Replace(name)
		parts = append(parts, spelt+": "+strconv.Quote(o.Headers[name]))
	}
	if o.Outcome == probes.OutcomeErrorResponse && o.Bytes != "" {
		parts = append(parts, "body "+o.Bytes)
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, ", ")
}

func placeholders(o, follow probes.Observation) *strings.Replacer {
	host, port := hostPart(o.To), ""
	if _, p, err := net.SplitHostPort(o.To); err == nil {
		port = p
	}
	icmp, from := "", host
	if o.ICMP != nil {
		icmp = o.ICMP.Meaning
		if o.ICMP.From != "" {
			from = o.ICMP.From
		}
	}
	nw := strings.ToUpper(probes.Transport(o.Transport).Network())
	realm := ""
	if r := o.Headers["REALM"]; r != "" {
		realm = " for realm " + strconv.Quote(r)
	}
	return strings.NewReplacer("{to}", o.To, "{host}", host, "{port}", port, "{net}", nw, "{step}", o.Step,
		"{code}", strconv.Itoa(o.Code), "{reason}", o.Reason, "{icmp}", icmp, "{from}", from,
		"{bytes}", o.Bytes, "{note}", o.Note, "{realm}", realm, "{headers}", quoted(o),
		"{protocol}", o.Headers["Sec-Websocket-Protocol"], "{followup}", follow.Reason)
}

func hostPart(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}
