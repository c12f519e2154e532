package checks

import (
	"context"
	"errors"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

// NATMeaning says what a discovered NAT behaviour means for calls.
func NATMeaning(s *probes.NATSummary) string {
	switch {
	case s.MappingInconclusive != nil && s.MappingInconclusive.NotFollowed:
		return "NAT behaviour could not be determined: " + s.MappingInconclusive.Reason + ". To let the test follow it, add the server's other address to the module's allowed_targets."
	case s.MappingInconclusive != nil:
		return "NAT behaviour could not be determined: " + s.MappingInconclusive.Reason + ". Probe a server that implements RFC 5780 on two IP addresses (the embedded server does; coturn does when given two listening IPs, unless no-rfc5780 is set, as Debian's turnserver.conf does)."
	case !s.NAT:
		return "No NAT between this host and the server: peers can reach this host's address directly where the firewall allows it."
	}
	switch s.Mapping {
	case probes.AddressDependent, probes.AddressAndPortDependent:
		return "Symmetric NAT (" + s.Mapping + " mapping): every peer sees a different public port, so the address STUN learns is useless to peers and calls need a relay (TURN). " +
			"To allow direct calls, configure the NAT for endpoint-independent mapping (RFC 4787 REQ-1)."
	}
	switch s.Filtering {
	case probes.EndpointIndependent:
		return "Full-cone NAT (endpoint-independent mapping and filtering): the STUN-learned address works for any peer; direct calls work."
	case probes.AddressDependent, probes.AddressAndPortDependent:
		return "Cone NAT with " + s.Filtering + " filtering: ICE hole punching opens the filter because both peers send, so direct calls work in most cases; " +
			"calls between two such NATs with address-and-port-dependent filtering may still need TURN."
	}
	return "Endpoint-independent mapping (good for direct calls); filtering inconclusive: " + s.FilteringInconclusive.Reason + "."
}

func natChecks() []*Check {
	return []*Check{{
		ID:    "nat.behavior",
		Title: "NAT behaviour (RFC 5780)",
		Description: "Discovers NAT mapping and filtering behaviour with CHANGE-REQUEST and OTHER-ADDRESS (RFC 5780), " +
			"in separate runs, and says whether peers behind this NAT need a relay.",
		Metrics: []string{"mapping_level", "filtering_level", "nat_present", "tests_inconclusive"},
		Timeout: 5 * time.Second,
		Thresholds: []Threshold{
			MustThreshold(Warn, "mapping_level < 2", "RFC 4787 REQ-1: without endpoint-independent mapping (symmetric NAT) peers need TURN"),
			MustThreshold(Warn, "tests_inconclusive == 0", "an inconclusive test leaves the NAT type unknown"),
		},
		Subjects: func(p *Plan) []Subject {
			if len(p.NATServers) > 0 {
				var out []Subject
				for _, s := range p.NATServers {
					out = append(out, Subject{Name: s.String(), Target: probes.Target{Server: s, Transport: probes.UDP}})
				}
				return out
			}
			return p.serverTargets(plainSTUN, probes.UDP)
		},
		Run: func(ctx context.Context, s Subject, p *Plan) probes.Measurement {
			m := probes.NATBehavior(ctx, s.Target, probes.NATConfig{Follow: p.follows(s.Target.Server)})
			followUpClassic(ctx, s.Target, m)
			sum, ok := m.Summary.(*probes.NATSummary)
			if m.Err != nil || !ok {
				return m
			}
			inconclusive := 0.0
			for _, e := range []*probes.InconclusiveError{sum.MappingInconclusive, sum.FilteringInconclusive} {
				if e != nil {
					inconclusive++
				}
			}
			m.SetMetric("tests_inconclusive", inconclusive)
			// The meaning first: it is what a one-line summary shows.
			m.Evidence = append([]probes.Evidence{{Name: "meaning", Value: NATMeaning(sum)}}, m.Evidence...)
			return m
		},
		Advice: func(_ Result, m probes.Measurement) string {
			var (
				se    *probes.STUNError
				proto *probes.ProtocolError
			)
			switch {
			case errors.As(m.Err, &se):
				return "The server answered the NAT test, so the path is open, but with an error (" + m.Err.Error() + "). " + ErrorAdvice(FamilySTUN, se)
			case errors.As(m.Err, &proto):
				return "The server answered the NAT test, so the path is open, but not with a usable Binding response (" + proto.Err.Error() + "): it may not speak RFC 5389/5780 STUN correctly."
			}
			if sum, ok := m.Summary.(*probes.NATSummary); ok && m.Err == nil {
				return NATMeaning(sum)
			}
			return ""
		},
		Needs: "a stun: server",
	}}
}
