package checks

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

// TestDiagnosisClassicFollowUp: silence to RFC 8489 Binding requests
// decides "RFC 3489 only" when, and only when, the follow-up with
// CHANGE-REQUEST was answered.
func TestDiagnosisClassicFollowUp(t *testing.T) {
	silence := probes.Observation{Step: "first request", Transport: "udp", To: "192.0.2.1:3478", Outcome: probes.OutcomeSilence, AfterMS: 2000}
	follow := func(out probes.Outcome) probes.Observation {
		return probes.Observation{Step: probes.StepClassicBinding, Transport: "udp", To: "192.0.2.1:3478", Outcome: out}
	}
	tests := []struct {
		name string
		obs  []probes.Observation
		rule string
	}{
		{"follow-up answered", []probes.Observation{follow(probes.OutcomeAnswered), silence}, "stun-rfc3489-only"},
		{"follow-up silent", []probes.Observation{follow(probes.OutcomeSilence), silence}, "udp-silence"},
		{"no follow-up", []probes.Observation{silence}, "udp-silence"},
		// An answered step that is no follow-up decides nothing.
		{"an answer that is not the follow-up", []probes.Observation{{Step: "Binding request", Transport: "udp", To: "192.0.2.1:3478", Outcome: probes.OutcomeAnswered}, silence}, "udp-silence"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := Diagnose(FamilySTUN, tc.obs)
			if !ok || d.Rule != tc.rule {
				t.Fatalf("rule %q (%v), want %q", d.Rule, ok, tc.rule)
			}
			if tc.rule == "stun-rfc3489-only" {
				text := d.Text()
				for _, w := range []string{"speaks only RFC 3489 (classic STUN)", "answers only Binding requests with CHANGE-REQUEST", "no firewall drops it", "RFC 5389/8489"} {
					if !strings.Contains(text, w) {
						t.Errorf("%q lacks %q", text, w)
					}
				}
				if !d.Decided() || strings.Contains(text, "Cannot tell") {
					t.Errorf("not decided: %q", text)
				}
			}
		})
	}
}

// TestClassicFollowUpSilent: a UDP port that takes every datagram and
// answers none gets exactly one follow-up datagram with CHANGE-REQUEST
// from stun.udp and one from nat.behavior, each inside its check's
// deadline; silence to it leaves the verdict "cannot tell".
func TestClassicFollowUpSilent(t *testing.T) {
	testenv.CheckGoroutines(t)
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	var plain, classic atomic.Int32
	go func() {
		buf := make([]byte, 1500)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			m := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if m.Decode() != nil {
				continue
			}
			if m.Contains(stun.AttrChangeRequest) {
				classic.Add(1)
			} else {
				plain.Add(1)
			}
		}
	}()
	srv, err := probes.ParseServer("stun:" + pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	p := &Plan{Servers: []probes.Server{srv}, Checks: MustSelect(Catalog(), "stun.udp")}
	rs := Run(context.Background(), p, nil)
	if len(rs) != 1 {
		t.Fatalf("results: %+v", rs)
	}
	r := rs[0]
	if r.Status != Fail || r.Diagnosis == nil || r.Diagnosis.Rule != "udp-silence" || !strings.Contains(r.Advice, "Cannot tell from here") {
		t.Fatalf("stun.udp: %s %+v %q", r.Status, r.Diagnosis, r.Advice)
	}
	var f *probes.Observation
	for i, o := range r.Observations {
		if o.Step == probes.StepClassicBinding {
			f = &r.Observations[i]
		}
	}
	if f == nil || f.Outcome != probes.OutcomeSilence || f.AfterMS < 400 || f.AfterMS > 600 {
		t.Fatalf("follow-up observation %+v in %+v", f, r.Observations)
	}
	if got := classic.Load(); got != 1 {
		t.Errorf("stun.udp sent %d follow-up datagrams, want 1", got)
	}
	if plain.Load() < 3 {
		t.Errorf("stun.udp sent only %d Binding requests before following up", plain.Load())
	}
	if limit := 2*time.Second + probes.ClassicBindingWait + 100*time.Millisecond; r.Duration > limit {
		t.Errorf("stun.udp took %s, over its deadline", r.Duration)
	}

	// nat.behavior: test I unanswered (its own Binding requests carry no
	// CHANGE-REQUEST), then the one follow-up.
	classic.Store(0)
	p = &Plan{Servers: []probes.Server{srv}, Checks: MustSelect(Catalog(), "nat.behavior")}
	rs = Run(context.Background(), p, nil)
	if len(rs) != 1 || rs[0].Status != Fail || rs[0].Diagnosis == nil || rs[0].Diagnosis.Rule != "udp-silence" {
		t.Fatalf("nat.behavior: %+v", rs)
	}
	if got := classic.Load(); got != 1 {
		t.Errorf("nat.behavior sent %d follow-up datagrams, want 1", got)
	}
}
