package exporter

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/probes"
)

// TestAllSkippedIsNoSuccess: a probe in which every check skipped tested
// nothing, so it is no success. nat.behavior skips against a STUN server
// that sends no OTHER-ADDRESS, as the embedded one on its own port does.
func TestAllSkippedIsNoSuccess(t *testing.T) {
	f := newFixture(t, `modules:
  nat:
    checks: [nat.behavior]
    allowed_targets: ["127.0.0.1"]
  stun:
    checks: [stun.udp]
    allowed_targets: ["127.0.0.1"]
`, Options{})
	code, body := f.get(probe("nat", "stun:"+f.addr()))
	if code != 200 || !strings.Contains(body, "\nprobe_success 0\n") || !strings.Contains(body, `status="skip",transport="udp"} 1`) {
		t.Errorf("every check skipped: %d\n%s", code, body)
	}
	// The same server, a check that runs: success.
	if code, body := f.get(probe("stun", "stun:"+f.addr())); code != 200 || !strings.Contains(body, "\nprobe_success 1\n") {
		t.Errorf("a check that passed: %d\n%s", code, body)
	}
	if _, metrics := f.get("/metrics"); !strings.Contains(metrics, `rtcprobe_probes_total{module="nat",result="failure"} 1`) {
		t.Errorf("/metrics does not count the all-skip probe as a failure:\n%s", metrics)
	}
}

// TestDurationHistogramInSeconds: the exporter's own histogram of probe
// durations observes seconds, the same duration the probe's answer gives
// as probe_duration_seconds.
func TestDurationHistogramInSeconds(t *testing.T) {
	f := newFixture(t, "", Options{})
	code, body := f.get(probe("stun_udp", "stun:"+f.addr()))
	m := regexp.MustCompile(`(?m)^probe_duration_seconds (\S+)$`).FindStringSubmatch(body)
	if code != 200 || m == nil {
		t.Fatalf("%d\n%s", code, body)
	}
	took, err := strconv.ParseFloat(m[1], 64)
	if err != nil || took <= 0 {
		t.Fatalf("probe_duration_seconds %q", m[1])
	}
	_, metrics := f.get("/metrics")
	s := regexp.MustCompile(`(?m)^rtcprobe_probe_duration_seconds_sum\{module="stun_udp"\} (\S+)$`).FindStringSubmatch(metrics)
	if s == nil {
		t.Fatalf("no duration histogram:\n%s", metrics)
	}
	sum, err := strconv.ParseFloat(s[1], 64)
	if err != nil || sum < took*0.999 || sum > took*1.001 {
		t.Errorf("histogram sum %s after one probe, want the probe's %v seconds", s[1], took)
	}
}

// TestAddressFamily: the family label is the IP family spoken, IPv4 for
// an IPv4 address written as an IPv4-mapped IPv6 one.
func TestAddressFamily(t *testing.T) {
	named, err := probes.ParseServer("stun:stun.example.org:3478")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host, local string
		transport   probes.Transport
		want        string
	}{
		{"127.0.0.1", "", probes.UDP, "ipv4"},
		{"::1", "", probes.UDP, "ipv6"},
		{"2001:db8::1", "", probes.TCP, "ipv6"},
		{"::ffff:192.0.2.1", "", probes.UDP, "ipv4"},
		{"::ffff:c000:201", "", probes.TLS, "ipv4"},
		{"stun.example.org", "192.0.2.7:40000", probes.UDP, "ipv4"},
		{"stun.example.org", "[::ffff:192.0.2.7]:40000", probes.UDP, "ipv4"},
		{"stun.example.org", "[2001:db8::7]:40000", probes.UDP, "ipv6"},
		{"stun.example.org", "", probes.UDP, ""},
		{"127.0.0.1", "", "", ""}, // not a server check
	} {
		s := named
		s.URI.Host = tc.host
		r := result.Result{Subject: result.Subject{Target: probes.Target{Server: s, Transport: tc.transport}}}
		if tc.local != "" {
			r.Evidence = []probes.Evidence{{Name: "local_address", Value: tc.local}}
		}
		if got := addressFamily(r); got != tc.want {
			t.Errorf("host %s, local address %q, transport %q: family %q, want %q", tc.host, tc.local, tc.transport, got, tc.want)
		}
		if got := resultLabels(r)["family"]; got != tc.want {
			t.Errorf("host %s, local address %q: label %q, want %q", tc.host, tc.local, got, tc.want)
		}
	}
}
