package checks

import (
	"context"
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/internal/iceserver"
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
