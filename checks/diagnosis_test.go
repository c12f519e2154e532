package checks

import (
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/probes"
)

// TestDiagnosisTable: each observation reads as the cause its row names,
// or as the candidates it leaves open; the words checked are the ones a
// person acts on.
func TestDiagnosisTable(t *testing.T) {
	icmp := func(typ, code int, from string) *probes.ICMPReport {
		return &probes.ICMPReport{Type: typ, Code: code, From: from, Meaning: "m"}
	}
	stun := func(code int, reason string, authenticated bool) probes.Observation {
		return (&probes.STUNError{Code: code, Reason: reason, Request: "Allocate", Realm: "example.org", Authenticated: authenticated}).Observation()
	}
	tests := []struct {
		name    string
		family  Family
		obs     probes.Observation
		rule    string
		decided bool
		want    []string
	}{
		{"admin prohibited by the host", FamilySTUN, probes.Observation{Step: "first request", Transport: "udp", To: "192.0.2.1:3478", Outcome: probes.OutcomeICMP, ICMP: icmp(3, 13, "192.0.2.1")},
			"icmp-prohibited-host", true, []string{"192.0.2.1 refused UDP to port 3478", "packet filter on the server's host"}},
		{"admin prohibited by a router", FamilySTUN, probes.Observation{Step: "first request", Transport: "udp", To: "192.0.2.1:3478", Outcome: probes.OutcomeICMP, ICMP: icmp(3, 13, "198.51.100.1")},
			"icmp-prohibited", true, []string{"198.51.100.1 refused UDP to 192.0.2.1:3478", "firewall at 198.51.100.1"}},
		{"ICMPv6 admin prohibited", FamilySTUN, probes.Observation{Step: "first request", Transport: "udp", To: "[2001:db8::1]:3478", Outcome: probes.OutcomeICMP, ICMP: &probes.ICMPReport{Type: 1, Code: 1, IPv6: true, From: "2001:db8::9", Meaning: "m"}},
			"icmp-prohibited", true, []string{"2001:db8::9 refused UDP"}},
		{"port unreachable from a router", FamilySTUN, probes.Observation{Step: "first request", Transport: "udp", To: "192.0.2.1:3478", Outcome: probes.OutcomeICMP, ICMP: icmp(3, 3, "198.51.100.1")},
			"icmp-port-elsewhere", true, []string{"198.51.100.1, on the path to 192.0.2.1", "firewall there rejects UDP"}},
		{"port unreachable from the host", FamilySTUN, probes.Observation{Step: "first request", Transport: "udp", To: "192.0.2.1:3478", Outcome: probes.OutcomeICMP, ICMP: icmp(3, 3, "192.0.2.1")},
			"icmp-port", true, []string{"nothing listens on UDP port 3478", "server's host"}},
		{"host unreachable: cannot tell", FamilySTUN, probes.Observation{Step: "first request", Transport: "udp", To: "192.0.2.1:3478", Outcome: probes.OutcomeICMP, ICMP: icmp(3, 1, "198.51.100.1")},
			"icmp-unreachable", false, []string{"Cannot tell from here", "host is down", "firewall at 198.51.100.1", "To tell them apart"}},
		{"WHIP section rejected: cannot tell", FamilyWHIP, (&probes.CodecMismatchError{Proto: "WHIP", URL: "http://192.0.2.1/whip", Kind: "video", Rejected: true, Offered: []string{"VP8", "H264"}}).Observation(),
			"whip-codec-rejected", false, []string{"Cannot tell from here", "shares none of the codecs offered (video section rejected (port 0); offered VP8, H264)", "takes no such media"}},
		{"WHIP codec mismatch", FamilyWHIP, (&probes.CodecMismatchError{Proto: "WHIP", URL: "http://192.0.2.1/whip", Kind: "video", Offered: []string{"VP8", "H264"}, Answered: []string{"H265/90000"}}).Observation(),
			"whip-codec-mismatch", true, []string{"Codec mismatch", "offered VP8, H264; answered H265/90000"}},
		{"WHIP 4xx naming codecs", FamilyWHIP, (&probes.HTTPSessionError{Proto: "WHEP", Stage: probes.StagePost, URL: "http://192.0.2.1/whep", Code: 406, Status: "406 Not Acceptable (no supported video codec)"}).Observation(),
			"whip-refused-codec", true, []string{"(406 Not Acceptable (no supported video codec))", "codec mismatch"}},
		{"a local rule", FamilyWebSocket, probes.Observation{Step: "send", To: "192.0.2.1:443", Outcome: probes.OutcomeLocalRefusal, Note: "operation not permitted"},
			"local-firewall", true, []string{"machine's own firewall"}},
		{"UDP silence: cannot tell", FamilySTUN, probes.Observation{Step: "first request", Transport: "udp", To: "192.0.2.1:3478", Outcome: probes.OutcomeSilence},
			"udp-silence", false, []string{"Cannot tell from here", "drops UDP to port 3478", "sends no ICMP", "ignores this request"}},
		{"TCP reset: cannot tell", FamilySTUN, probes.Observation{Step: "TCP connect", Transport: "tcp", To: "192.0.2.1:3478", Outcome: probes.OutcomeReset},
			"tcp-reset", false, []string{"nothing listens on TCP port 3478", "rejects TCP to port 3478 with a reset"}},
		{"401 without credentials", FamilySTUN, stun(401, "Unauthorized", false), "stun-401", true, []string{`realm "example.org"`, "missing"}},
		{"401 with credentials: cannot tell", FamilySTUN, stun(401, "Unauthorized", true), "stun-401-credentials", false, []string{"password is wrong", `unknown for realm "example.org", or defined for another realm`}},
		{"401 with REST credentials: cannot tell", FamilySTUN, (&probes.STUNError{Code: 401, Request: "Allocate", Realm: "example.org", Authenticated: true, REST: true}).Observation(),
			"stun-401-rest", false, []string{"REST secret is not the server's", `no REST secret for realm "example.org"`, "expiry"}},
		{"442", FamilySTUN, stun(442, "UDP Transport is not allowed", true), "turn-442", true, []string{"does not relay the requested transport, UDP", "no-udp-relay"}},
		{"TLS handshake silence: cannot tell", FamilySTUN, probes.Observation{Step: "TLS handshake", Transport: "tls", To: "192.0.2.1:3478", Outcome: probes.OutcomeSilence},
			"tls-silence", false, []string{"serves no TLS on this port", "middlebox"}},
		{"400 with credentials", FamilySTUN, stun(400, "Bad Request", true), "stun-400-credentials", true, []string{"refused the credentials"}},
		{"486 bandwidth", FamilySTUN, stun(486, "Allocation Bandwidth Quota Reached", false), "turn-486-bandwidth", true, []string{"bandwidth quota", "bps-capacity"}},
		{"486: user or total quota", FamilySTUN, stun(486, "Allocation Quota Reached", false), "turn-486", false, []string{"user-quota", "total-quota", "another username"}},
		{"508", FamilySTUN, stun(508, "Insufficient Capacity", false), "turn-508", true, []string{"no capacity"}},
		{"TURN only", FamilySTUN, (&probes.NoSTUNError{Addr: "192.0.2.1:3478", Transport: probes.UDP, AnswersTURN: true}).Observation(), "stun-turn-only", true, []string{"no-stun"}},
		{"not STUN", FamilySTUN, probes.Observation{Step: "request", To: "192.0.2.1:3478", Outcome: probes.OutcomeNotProtocol, Note: "not a STUN message"},
			"stun-not-stun", false, []string{"another service owns 192.0.2.1:3478"}},
		{"not TLS", FamilyWebSocket, probes.Observation{Step: "TLS handshake", To: "192.0.2.1:443", Outcome: probes.OutcomeTLSAlert, Note: "tls: first record does not look like a TLS handshake"},
			"tls-not-tls", true, []string{"does not speak TLS"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := Diagnose(tc.family, []probes.Observation{tc.obs})
			if !ok {
				t.Fatalf("no row fits %+v", tc.obs)
			}
			if d.Rule != tc.rule || d.Decided() != tc.decided {
				t.Errorf("rule %s (decided %v), want %s (decided %v)", d.Rule, d.Decided(), tc.rule, tc.decided)
			}
			if !tc.decided && len(d.Candidates) < 2 {
				t.Errorf("undecided with candidates %q", d.Candidates)
			}
			if len(d.Refs) == 0 && tc.rule != "stalled" {
				t.Errorf("row %s cites nothing", d.Rule)
			}
			text := d.Text()
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("%q lacks %q", text, w)
				}
			}
			// References ({option:KEY}) are the front ends' to word.
			if strings.ContainsAny(docWords.Say(text), "{}") {
				t.Errorf("unfilled placeholder in %q", text)
			}
		})
	}
}

// TestDiagnosisFamilies: a row written for STUN exchanges never advises
// another family, however the observation looks.
func TestDiagnosisFamilies(t *testing.T) {
	turnOnly := (&probes.NoSTUNError{Addr: "192.0.2.1:443", Transport: probes.TCP, AnswersTURN: true}).Observation()
	for _, f := range []Family{FamilyWebSocket, FamilyWHIP, FamilyWebRTC} {
		if d, ok := Diagnose(f, []probes.Observation{turnOnly}); ok && strings.Contains(d.Text(), "STUN") {
			t.Errorf("%s: STUN words %q", f, d.Text())
		}
		d, ok := Diagnose(f, []probes.Observation{(&probes.STUNError{Code: 486, Request: "Allocate"}).Observation()})
		if ok {
			t.Errorf("%s: a STUN error code read as %q", f, d.Text())
		}
	}
	for _, r := range diagnosisTable {
		if r.cause == "" && len(r.candidates) < 2 {
			t.Errorf("row %s decides nothing and lists %d candidate(s)", r.id, len(r.candidates))
		}
	}
}

// TestDiagnosisFollowUp: a silent DTLS port reads by what the STUN
// follow-up to the same port got back.
func TestDiagnosisFollowUp(t *testing.T) {
	silent := probes.Observation{Step: "first request", Transport: "dtls", To: "192.0.2.1:5349", Outcome: probes.OutcomeSilence}
	followUp := func(out probes.Outcome, icmp *probes.ICMPReport) probes.Observation {
		return probes.Observation{Step: "follow-up: STUN Binding request to the DTLS port", Transport: "udp", To: "192.0.2.1:5349", Outcome: out, ICMP: icmp}
	}
	tests := []struct {
		name string
		obs  []probes.Observation
		rule string
	}{
		{"STUN answers", []probes.Observation{followUp(probes.OutcomeAnswered, nil), silent}, "dtls-stun-only"},
		{"STUN refused", []probes.Observation{followUp(probes.OutcomeICMP, &probes.ICMPReport{Type: 3, Code: 3, Meaning: "port unreachable"}), silent}, "dtls-refused"},
		{"STUN silent too", []probes.Observation{followUp(probes.OutcomeSilence, nil), silent}, "udp-silence"},
		{"no follow-up", []probes.Observation{silent}, "udp-silence"},
	}
	for _, tc := range tests {
		d, ok := Diagnose(FamilySTUN, tc.obs)
		if !ok || d.Rule != tc.rule {
			t.Errorf("%s: rule %q, want %q", tc.name, d.Rule, tc.rule)
		}
	}
}

// TestDiagnosisPlainPort: a TLS handshake that got no answer reads as a
// plain port only when the follow-up in the clear got a STUN answer (a
// refusal is one); a silent follow-up leaves the candidates open.
func TestDiagnosisPlainPort(t *testing.T) {
	answered := func(tr string) probes.Observation {
		return probes.Observation{Step: "follow-up: STUN Binding request in the clear to the TLS port", Transport: tr, To: "192.0.2.1:3478",
			Outcome: probes.OutcomeAnswered}
	}
	silent := func(tr string) probes.Observation {
		o := answered(tr)
		o.Outcome = probes.OutcomeSilence
		return o
	}
	tlsSilence := probes.Observation{Step: "TLS handshake", Transport: "tls", To: "192.0.2.1:3478", Outcome: probes.OutcomeSilence}
	refused := answered("tcp")
	refused.Outcome, refused.Code = probes.OutcomeErrorResponse, 401
	for _, tc := range []struct {
		name string
		obs  []probes.Observation
		rule string
		want string
	}{
		{"TLS, STUN in the clear answered", []probes.Observation{answered("tcp"), tlsSilence}, "tls-plain-port", "does not speak TLS on this port"},
		{"TLS, nothing in the clear either", []probes.Observation{silent("tcp"), tlsSilence}, "tls-silence", "Cannot tell from here"},
		{"TLS, STUN in the clear refused with 401", []probes.Observation{refused, tlsSilence}, "tls-plain-port", "does not speak TLS on this port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := Diagnose(FamilySTUN, tc.obs)
			if !ok || d.Rule != tc.rule {
				t.Fatalf("rule %q (%v), want %s", d.Rule, ok, tc.rule)
			}
			if text := d.Text(); !strings.Contains(text, tc.want) {
				t.Errorf("%q lacks %q", text, tc.want)
			}
		})
	}
}
