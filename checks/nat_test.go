package checks

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/testkit/hostile"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

func TestNATMeaning(t *testing.T) {
	const (
		ei, ad, apd = probes.EndpointIndependent, probes.AddressDependent, probes.AddressAndPortDependent
	)
	inc := func(test, why string) *probes.InconclusiveError {
		return &probes.InconclusiveError{Test: test, Reason: why}
	}
	tests := []struct {
		sum  probes.NATSummary
		want []string
	}{
		{probes.NATSummary{NAT: false, Mapping: ei, Filtering: ei}, []string{"No NAT"}},
		{probes.NATSummary{NAT: true, Mapping: ei, Filtering: ei}, []string{"Full-cone NAT", "direct calls work"}},
		{probes.NATSummary{NAT: true, Mapping: ei, Filtering: ad}, []string{"Cone NAT with address-dependent filtering", "hole punching"}},
		{probes.NATSummary{NAT: true, Mapping: ei, Filtering: apd}, []string{"Cone NAT with address-and-port-dependent filtering", "may still need TURN"}},
		{probes.NATSummary{NAT: true, Mapping: ad, Filtering: ei}, []string{"Symmetric NAT (address-dependent mapping)", "need a relay (TURN)", "RFC 4787 REQ-1"}},
		{probes.NATSummary{NAT: true, Mapping: apd, Filtering: apd}, []string{"Symmetric NAT (address-and-port-dependent mapping)", "need a relay"}},
		{probes.NATSummary{NAT: true, Mapping: apd, FilteringInconclusive: inc("filtering", "no answer from 192.0.2.2:3479")}, []string{"Symmetric NAT"}},
		{probes.NATSummary{NAT: true, Mapping: ei, FilteringInconclusive: inc("filtering", "no answer from 192.0.2.2:3479")},
			[]string{"Endpoint-independent mapping", "filtering inconclusive: no answer from 192.0.2.2:3479"}},
		{probes.NATSummary{NAT: true, MappingInconclusive: inc("mapping", "OTHER-ADDRESS 192.0.2.1:3479 is on the same IP as the server"),
			FilteringInconclusive: inc("filtering", "needs the server's OTHER-ADDRESS")},
			[]string{"could not be determined: OTHER-ADDRESS 192.0.2.1:3479 is on the same IP", "two IP addresses"}},
	}
	for _, tt := range tests {
		got := NATMeaning(&tt.sum)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("NATMeaning(%+v) = %q, lacks %q", tt.sum, got, w)
			}
		}
	}
}

// TestNATCheckEmbedded runs nat.behavior the way the default run does:
// against the embedded RFC 5780 responder (pass), and against a plain
// STUN server without OTHER-ADDRESS (skip, saying why).
func TestNATCheckEmbedded(t *testing.T) {
	testenv.CheckGoroutines(t)
	srv, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	sel := MustSelect(Catalog(), "nat")
	p := &Plan{Servers: srv.Servers(), Checks: sel, NATServers: srv.NATServers()}
	rs := Run(context.Background(), p, nil)
	if len(rs) != 1 || rs[0].Status != Pass || rs[0].Metrics["mapping_level"] != 1 || evidenceOf(rs[0], "nat") != "none" {
		t.Fatalf("embedded responder: %+v", rs)
	}
	p.NATServers = nil // falls back to the stun: server, which lacks RFC 5780
	rs = Run(context.Background(), p, nil)
	if len(rs) != 1 || rs[0].Status != Skip || !strings.Contains(rs[0].Error, "OTHER-ADDRESS") {
		t.Fatalf("server without RFC 5780: %+v", rs)
	}
}

// TestNATThresholds: each threshold of nat.behavior on both sides of its
// boundary. Endpoint-independent mapping (level 1) passes; address-
// dependent (2) and address-and-port-dependent (3) mean symmetric NAT and
// warn; one inconclusive test warns.
func TestNATThresholds(t *testing.T) {
	c := catalogCheck(t, "nat.behavior")
	for _, tc := range []struct {
		name    string
		metrics map[string]float64
		want    Status
	}{
		{"mapping_level=1", map[string]float64{"mapping_level": 1, "tests_inconclusive": 0}, Pass},
		{"mapping_level=2", map[string]float64{"mapping_level": 2, "tests_inconclusive": 0}, Warn},
		{"mapping_level=3", map[string]float64{"mapping_level": 3, "tests_inconclusive": 0}, Warn},
		{"tests_inconclusive=0", map[string]float64{"tests_inconclusive": 0}, Pass},
		{"tests_inconclusive=1", map[string]float64{"tests_inconclusive": 1}, Warn},
		{"tests_inconclusive=2", map[string]float64{"tests_inconclusive": 2}, Warn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Judge(Subject{Name: "stun:192.0.2.1:3478"}, probes.Measurement{Metrics: tc.metrics}, time.Millisecond, c.Thresholds)
			if r.Status != tc.want {
				t.Errorf("status %s, want %s (%s)", r.Status, tc.want, r.Error)
			}
		})
	}
}

// TestNATCheckFilteringInconclusive runs nat.behavior against a server
// that names an OTHER-ADDRESS but answers CHANGE-REQUEST from its primary
// address: mapping is determined, filtering is not, and that one
// inconclusive test is counted and warns.
func TestNATCheckFilteringInconclusive(t *testing.T) {
	testenv.CheckGoroutines(t)
	srv := ignoresChangeRequest(t)
	p := &Plan{Servers: []probes.Server{srv}, Checks: MustSelect(Catalog(), "nat"), NATServers: []probes.Server{srv}}
	rs := Run(context.Background(), p, nil)
	if len(rs) != 1 {
		t.Fatalf("%d results, want 1: %+v", len(rs), rs)
	}
	r := rs[0]
	if r.Metrics["tests_inconclusive"] != 1 || r.Metrics["mapping_level"] != 1 {
		t.Errorf("metrics %v, want tests_inconclusive 1 (filtering) and mapping_level 1", r.Metrics)
	}
	if r.Status != Warn || !strings.Contains(r.Error, "tests_inconclusive") {
		t.Errorf("status %s (%s), want warn for the inconclusive test", r.Status, r.Error)
	}
	if f := evidenceOf(r, "filtering"); !strings.HasPrefix(f, "inconclusive: the server ignored CHANGE-REQUEST") {
		t.Errorf("filtering %q, want inconclusive", f)
	}
}

// ignoresChangeRequest is a loopback STUN server that claims RFC 5780 by
// naming OTHER-ADDRESS 127.0.0.2 on another port, yet answers every
// request, CHANGE-REQUEST or not, from its one socket.
func ignoresChangeRequest(t *testing.T) probes.Server {
	t.Helper()
	addr := hostile.ChangeIgnorer(t, func(self *net.UDPAddr) *net.UDPAddr {
		return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: self.Port + 1}
	}, nil)
	s, err := probes.ParseServer("stun:" + addr.String())
	if err != nil {
		t.Fatal(err)
	}
	return s
}
