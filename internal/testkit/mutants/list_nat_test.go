package mutants

// NAT behaviour discovery and the firewall matrix: the NAT type, the
// warnings it gives, and the verdict and advice the matrix reads off its
// cells (issue #28).
func init() {
	mutants = append(mutants,
		mutant{
			Name: "address-dependent mapping reported as level 1",
			File: "probes/natbehavior.go",
			Old:  "\tcase AddressDependent:\n\t\treturn 2",
			New:  "\tcase AddressDependent:\n\t\treturn 1",
			Pkg:  "./probes", Run: `^TestNATBehaviorVNet$/^mapping=address-dependent$/^filtering=endpoint-independent$`,
		},
		mutant{
			Name: "address-and-port-dependent filtering reported as level 2",
			File: "probes/natbehavior.go",
			Old:  "\t\treturn 2\n\t}\n\treturn 3",
			New:  "\t\treturn 2\n\t}\n\treturn 2",
			Pkg:  "./probes", Run: `^TestNATBehaviorVNet$/^mapping=endpoint-independent$/^filtering=address-and-port-dependent$`,
		},
		mutant{
			Name: "filtering cut short by the deadline reads as address-and-port-dependent",
			File: "probes/natbehavior.go",
			Old:  `if ctx.Err() != nil {` + "\n\t\t" + `return "", &InconclusiveError{Test: "filtering"`,
			New:  `if false {` + "\n\t\t" + `return "", &InconclusiveError{Test: "filtering"`,
			Pkg:  "./probes", Run: `^TestNATBehaviorFilteringCutShort$`,
		},
		mutant{
			Name: "a level-2 NAT mapping passes instead of warning",
			File: "checks/nat.go",
			Old:  `"mapping_level < 2"`,
			New:  `"mapping_level <= 2"`,
			Pkg:  "./checks", Run: `^TestNATThresholds$/^mapping_level=2$`,
		},
		mutant{
			Name: "one inconclusive NAT test passes",
			File: "checks/nat.go",
			Old:  `"tests_inconclusive == 0"`,
			New:  `"tests_inconclusive <= 1"`,
			Pkg:  "./checks", Run: `^TestNATThresholds$/^tests_inconclusive=1$`,
		},
		mutant{
			Name: "an inconclusive filtering test is not counted",
			File: "checks/nat.go",
			Old:  `[]*probes.InconclusiveError{sum.MappingInconclusive, sum.FilteringInconclusive}`,
			New:  `[]*probes.InconclusiveError{sum.MappingInconclusive}`,
			Pkg:  "./checks", Run: `^TestNATCheckFilteringInconclusive$`,
		},
		mutant{
			Name: "tls-443-only when only TLS on another port gets through",
			File: "checks/firewall_rules.go",
			Old:  `c.Transport == probes.TLS && c.Port == 443 })`,
			New:  `c.Transport == probes.TLS })`,
			Pkg:  "./checks", Run: `^TestFirewallVerdict$/^only_TLS_on_5349_passes$`,
		},
		mutant{
			Name: "a STUN error answer counted as a closed path",
			File: "checks/firewall_rules.go",
			Old:  `return o == OutcomeOK || o == OutcomeAuth || o == OutcomeAnswered }`,
			New:  `return o == OutcomeOK || o == OutcomeAuth }`,
			Pkg:  "./checks", Run: `^TestFirewallVerdict$/^udp_answered_with_a_STUN_error$`,
		},
		mutant{
			Name: "a TCP RST turns dropped UDP on its port into refused",
			File: "checks/firewall_rules.go",
			Old:  `c.Transport.Network() == "udp" && icmpAnswered(c) &&`,
			New:  `icmpAnswered(c) &&`,
			Pkg:  "./checks", Run: `^TestSettleICMP$/^TCP_RST_leaves_dropped_UDP_dropped$`,
		},
		mutant{
			Name: "rtt_best_ms the slowest open cell's",
			File: "checks/firewall.go",
			Old:  `(best < 0 || c.RTTms < best)`,
			New:  `(best < 0 || c.RTTms > best)`,
			Pkg:  "./checks", Run: `^TestMatrixMetrics$/^udp_dropped,_tcp_and_tls_open$`,
		},
		mutant{
			Name: "relay port range in the advice ends at the last port seen",
			File: "checks/firewall_rules.go",
			Old:  `hi = max(hi, p)`,
			New:  `hi = p`,
			Pkg:  "./checks", Run: `^TestFirewallVerdict$/^relay_ports_out_of_order$`,
		},
		mutant{
			Name: "udp_open set to 0 for a host with no UDP cell",
			File: "checks/firewall.go",
			Old:  "if len(of) == 0 {\n\t\t\tcontinue\n\t\t}\n",
			New:  "",
			Pkg:  "./checks", Run: `^TestMatrixMetrics$/^no_UDP_cell$`,
		},
		mutant{
			Name: "paths_open counts only ok cells",
			File: "checks/firewall.go",
			Old:  `m.SetMetric("paths_open", float64(len(filter(cells, func(c CellOutcome) bool { return c.Outcome.Open() }))))`,
			New:  `m.SetMetric("paths_open", count(OutcomeOK))`,
			Pkg:  "./checks", Run: `^TestMatrixMetrics$/^answered_and_auth_failure_are_open$`,
		},
		// Caught before issue #28's round; kept so they stay caught.
		mutant{
			Name: "address-dependent mapping read as address-and-port-dependent",
			File: "probes/natbehavior.go",
			Old:  `sameAddr(third.mapped, second.mapped) {`,
			New:  `sameAddr(third.mapped, first.mapped) {`,
			Pkg:  "./probes", Run: `^TestNATBehaviorVNet$/^mapping=address-dependent$/^filtering=endpoint-independent$`,
		},
		mutant{
			Name: "address-dependent filtering read as endpoint-independent",
			File: "probes/natbehavior.go",
			Old:  `return AddressDependent, nil`,
			New:  `return EndpointIndependent, nil`,
			Pkg:  "./probes", Run: `^TestNATBehaviorVNet$/^mapping=endpoint-independent$/^filtering=address-dependent$`,
		},
		mutant{
			Name: "UDP refused on one port and dropped on another reads as refused by the host",
			File: "checks/firewall_rules.go",
			Old:  `refused := all(udp, func(c CellOutcome) bool { return c.Outcome == OutcomeRefused })`,
			New:  `refused := slices.ContainsFunc(udp, func(c CellOutcome) bool { return c.Outcome == OutcomeRefused })`,
			Pkg:  "./checks", Run: `^TestFirewallVerdict$/^udp_partly_dropped_partly_refused$`,
		},
	)
}
