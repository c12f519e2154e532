// Package netsim builds a virtual network (pion/transport vnet) with known
// delay, jitter, loss and NAT behaviour, so that `rtcprobe --simulate`
// shows what such a network does to a call, and tests can check that the
// reported numbers match what was injected.
package netsim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// NAT is the behaviour of the router in front of a peer (RFC 4787 terms).
type NAT string

// NAT types a simulated peer can sit behind.
const (
	NATNone           NAT = "none"            // the peer has a public address
	NATFullCone       NAT = "full-cone"       // endpoint-independent mapping and filtering
	NATRestricted     NAT = "restricted"      // endpoint-independent mapping, address-dependent filtering
	NATPortRestricted NAT = "port-restricted" // endpoint-independent mapping, address+port-dependent filtering
	NATSymmetric      NAT = "symmetric"       // address+port-dependent mapping and filtering
)

var nats = []NAT{NATNone, NATFullCone, NATRestricted, NATPortRestricted, NATSymmetric}

// Spec is a simulated network: "delay=40ms,jitter=5ms,loss=3%,nat=symmetric".
type Spec struct {
	// Delay is added one way between the peers (like netem), relayed or
	// not: a call's round trip is twice this.
	Delay time.Duration
	// Jitter is the most extra random delay a packet gets: each datagram
	// waits an extra drawn uniformly from [0, Jitter], independently of
	// every other (see egress).
	Jitter time.Duration
	// Rate limits each direction to this many bits per second of UDP
	// payload, behind a 250 ms drop-tail queue; 0 is unlimited.
	Rate float64
	// LossPct is the share of UDP packets lost between the peers, per
	// packet.
	LossPct float64
	// NAT is what the offerer ([0]) and the answerer ([1]) sit behind.
	NAT [2]NAT
	// TURN says whether the simulated server relays (turn=off leaves
	// STUN only).
	TURN bool
	// Seed makes the loss pattern reproducible.
	Seed uint64
}

// Limits on what a spec may ask for.
const (
	maxDelay = 10 * time.Second
)

// ParseSpec parses a simulated network's spec. Errors name the bad part.
func ParseSpec(s string) (Spec, error) {
	spec := Spec{NAT: [2]NAT{NATNone, NATNone}, TURN: true, Seed: 1}
	if strings.TrimSpace(s) == "" {
		return Spec{}, fmt.Errorf("empty (want e.g. \"delay=40ms,loss=3%%,nat=symmetric\")")
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		key, val, ok := strings.Cut(part, "=")
		bad := func(why string, args ...any) (Spec, error) {
			return Spec{}, fmt.Errorf("invalid part %q: %s", part, fmt.Sprintf(why, args...))
		}
		if !ok || val == "" {
			return bad("want key=value")
		}
		if seen[key] {
			return bad("%s given twice", key)
		}
		seen[key] = true
		switch key {
		case "delay", "jitter":
			d, err := time.ParseDuration(val)
			if err != nil {
				return bad("%q is not a duration (e.g. 40ms)", val)
			}
			if d < 0 || d > maxDelay {
				return bad("%s must be between 0 and %s", key, maxDelay)
			}
			if key == "delay" {
				spec.Delay = d
			} else {
				spec.Jitter = d
			}
		case "rate":
			r, err := parseRate(val)
			if err != nil {
				return bad("%v", err)
			}
			spec.Rate = r
		case "loss":
			v, err := strconv.ParseFloat(strings.TrimSuffix(val, "%"), 64)
			if err != nil {
				return bad("%q is not a percentage (e.g. 3%%)", val)
			}
			if !(v >= 0 && v <= 100) { // NaN too
				return bad("loss must be between 0%% and 100%%")
			}
			spec.LossPct = v
		case "nat":
			a, b, two := strings.Cut(val, "/")
			if !two {
				b = a
			}
			for i, name := range []string{a, b} {
				n, err := parseNAT(name)
				if err != nil {
					return bad("%v", err)
				}
				spec.NAT[i] = n
			}
		case "turn":
			switch val {
			case "on":
				spec.TURN = true
			case "off":
				spec.TURN = false
			default:
				return bad("want turn=on or turn=off")
			}
		case "seed":
			v, err := strconv.ParseUint(val, 10, 64)
			if err != nil {
				return bad("%q is not a whole number", val)
			}
			spec.Seed = v
		default:
			return bad("unknown key %q (want delay, jitter, rate, loss, nat, turn or seed)", key)
		}
	}
	return spec, nil
}

// Limits on a rate: a few packets a second at least, and no more than a
// simulated link can carry.
const (
	minRate = 8e3
	maxRate = 10e9
)

// parseRate reads a rate as tc writes it: 500kbit, 2mbit, 1.5Mbit/s, 1gbit.
func parseRate(s string) (float64, error) {
	bad := fmt.Errorf("%q is not a rate (e.g. 2mbit, 500kbit)", s)
	v := strings.TrimSuffix(strings.ToLower(s), "/s")
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"kbit", 1e3}, {"mbit", 1e6}, {"gbit", 1e9}, {"bit", 1}} {
		num, ok := strings.CutSuffix(v, u.suffix)
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, bad
		}
		if r := f * u.mult; r >= minRate && r <= maxRate {
			return r, nil
		}
		return 0, errors.New("rate must be between 8kbit and 10gbit")
	}
	return 0, bad
}

// formatRate writes a rate the way parseRate reads it.
func formatRate(r float64) string {
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}} {
		if r >= u.mult {
			return strconv.FormatFloat(r/u.mult, 'f', -1, 64) + u.suffix
		}
	}
	return strconv.FormatFloat(r, 'f', -1, 64) + "bit"
}

func parseNAT(s string) (NAT, error) {
	for _, n := range nats {
		if string(n) == s {
			return n, nil
		}
	}
	names := make([]string, len(nats))
	for i, n := range nats {
		names[i] = string(n)
	}
	return "", fmt.Errorf("unknown NAT type %q (want %s, or two as offerer/answerer)", s, strings.Join(names, ", "))
}

// String is the spec in the form ParseSpec reads.
func (s Spec) String() string {
	parts := []string{"delay=" + s.Delay.String()}
	if s.Jitter > 0 {
		parts = append(parts, "jitter="+s.Jitter.String())
	}
	if s.Rate > 0 {
		parts = append(parts, "rate="+formatRate(s.Rate))
	}
	parts = append(parts, "loss="+strconv.FormatFloat(s.LossPct, 'f', -1, 64)+"%")
	nat := string(s.NAT[0])
	if s.NAT[1] != s.NAT[0] {
		nat += "/" + string(s.NAT[1])
	}
	parts = append(parts, "nat="+nat)
	if !s.TURN {
		parts = append(parts, "turn=off")
	}
	if s.Seed != 1 {
		parts = append(parts, "seed="+strconv.FormatUint(s.Seed, 10))
	}
	return strings.Join(parts, ",")
}
