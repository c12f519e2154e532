package netsim

import (
	"strings"
	"testing"
	"time"
)

func TestParseSpec(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Spec
	}{
		{"delay=50ms,loss=5%", Spec{Delay: 50 * time.Millisecond, LossPct: 5, NAT: [2]NAT{NATNone, NATNone}, TURN: true, Seed: 1}},
		{"delay=40ms,jitter=5ms,loss=3%,nat=symmetric", Spec{Delay: 40 * time.Millisecond, Jitter: 5 * time.Millisecond, LossPct: 3, NAT: [2]NAT{NATSymmetric, NATSymmetric}, TURN: true, Seed: 1}},
		{"nat=symmetric/full-cone,turn=off,seed=7,loss=0.5", Spec{LossPct: 0.5, NAT: [2]NAT{NATSymmetric, NATFullCone}, Seed: 7}},
		{" delay=0s , loss=100% ", Spec{LossPct: 100, NAT: [2]NAT{NATNone, NATNone}, TURN: true, Seed: 1}},
		{"delay=20ms,rate=2mbit", Spec{Delay: 20 * time.Millisecond, Rate: 2e6, NAT: [2]NAT{NATNone, NATNone}, TURN: true, Seed: 1}},
		{"rate=1.5Mbit/s", Spec{Rate: 1.5e6, NAT: [2]NAT{NATNone, NATNone}, TURN: true, Seed: 1}},
		{"rate=500kbit", Spec{Rate: 500e3, NAT: [2]NAT{NATNone, NATNone}, TURN: true, Seed: 1}},
	} {
		got, err := ParseSpec(tc.in)
		if err != nil {
			t.Errorf("ParseSpec(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseSpec(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		again, err := ParseSpec(got.String())
		if err != nil || again != got {
			t.Errorf("round trip of %q through %q gave %+v, %v", tc.in, got.String(), again, err)
		}
	}
}

func TestParseSpecErrorsNameThePart(t *testing.T) {
	for _, tc := range []struct{ in, part, why string }{
		{"", "", "empty"},
		{"delay=50ms,speed=9", `"speed=9"`, "unknown key"},
		{"delay=-5ms", `"delay=-5ms"`, "between 0"},
		{"delay=fast", `"delay=fast"`, "not a duration"},
		{"loss=120%", `"loss=120%"`, "between 0% and 100%"},
		{"loss=-1", `"loss=-1"`, "between 0% and 100%"},
		{"loss=lots", `"loss=lots"`, "not a percentage"},
		{"loss=NaN", `"loss=NaN"`, "between 0% and 100%"},
		{"loss=nan%", `"loss=nan%"`, "between 0% and 100%"},
		{" ", "", "empty"},
		{"nat=carrier-grade", `"nat=carrier-grade"`, "unknown NAT type"},
		{"turn=maybe", `"turn=maybe"`, "turn=on or turn=off"},
		{"delay=1ms,delay=2ms", `"delay=2ms"`, "given twice"},
		{"jitter", `"jitter"`, "key=value"},
		{"delay=1h", `"delay=1h"`, "between 0"},
		{"rate=fast", `"rate=fast"`, "not a rate"},
		{"rate=2", `"rate=2"`, "not a rate"},
		{"rate=1bit", `"rate=1bit"`, "between 8kbit and 10gbit"},
	} {
		_, err := ParseSpec(tc.in)
		if err == nil {
			t.Errorf("ParseSpec(%q) accepted it", tc.in)
			continue
		}
		if !strings.Contains(err.Error(), tc.part) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("ParseSpec(%q) = %q, want it to name %s and say %q", tc.in, err, tc.part, tc.why)
		}
	}
}
