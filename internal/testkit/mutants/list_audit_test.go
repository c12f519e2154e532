package mutants

// The TURN audit's verdict rules: proof of arrival against the server's
// answer, which classes a grant fails or warns, what counts as a
// refusal, the words that say which, the summary, the advisories, the
// peer address encoding that carries the unusual forms, and the witness
// that answers markers only.
func init() {
	mutants = append(mutants,
		mutant{
			Name: "audit: a grant to loopback only warns, like a private range",
			File: "checks/audit_peers.go",
			Old:  `case probes.ClassLoopback, probes.ClassUnspecified, probes.ClassMapped, probes.ClassMetadata, probes.ClassInternal:`,
			New:  `case probes.ClassUnspecified, probes.ClassMapped, probes.ClassMetadata, probes.ClassInternal:`,
			Pkg:  "./checks", Run: `^TestAuditPeerVerdicts$`,
		},
		mutant{
			Name: "audit: a marker that came back counts as a grant, not as proof",
			File: "checks/audit_peers.go",
			Old:  `case a.Arrived || a.Outcome == probes.PeerConnected:`,
			New:  `case a.Outcome == probes.PeerConnected:`,
			Pkg:  "./checks", Run: `^TestAuditPeerVerdicts$`,
		},
		mutant{
			Name: "audit: a Connect answered 447 (the server tried) read as a refusal",
			File: "checks/audit_peers.go",
			Old:  `case a.Outcome == probes.PeerGranted || a.Outcome == probes.PeerConnectFailed:`,
			New:  `case a.Outcome == probes.PeerGranted:`,
			Pkg:  "./checks", Run: `^TestAuditPeerVerdicts$`,
		},
		mutant{
			Name: "audit: any error response counts as a policy refusal (a 500 passes)",
			File: "checks/audit_peers.go",
			Old:  `func policyRefusal(code int) bool { return code == 403 || code == 443 || code == 440 }`,
			New:  `func policyRefusal(code int) bool { return code >= 400 }`,
			Pkg:  "./checks", Run: `^TestAuditPeerVerdicts$`,
		},
		mutant{
			Name: "audit: a permission alone claimed as proven",
			File: "checks/audit_peers.go",
			Old:  `" (it would relay there; arrival not observed)"`,
			New:  `" (proven by arrival)"`,
			Pkg:  "./checks", Run: `^TestAuditPeerVerdicts$`,
		},
		mutant{
			Name: "audit: a grant into a private range never warns",
			File: "checks/audit_peers.go",
			Old:  `MustThreshold(Warn, "granted == 0",`,
			New:  `MustThreshold(Warn, "granted <= 100",`,
			Pkg:  "./checks", Run: `^TestAuditPeerVerdicts$`,
		},
		mutant{
			Name: "audit summary: warnings do not count",
			File: "checks/audit_summary.go",
			Old:  `if r.Status.Worse(worst) && r.Status != Skip {`,
			New:  `if r.Status == Fail {`,
			Pkg:  "./checks", Run: `^TestAuditGrade$`,
		},
		mutant{
			Name: "audit summary: the turns: listener's TLS row left out of its host's grade",
			File: "checks/audit_summary.go",
			Old:  `r.Subject.Target.Server.URI.Host != host {`,
			New:  `r.Subject.Target.Server.String() != sum.Subject.Target.Server.String()+host[:0] {`,
			Pkg:  "./checks", Run: `^TestAuditGrade$`,
		},
		mutant{
			Name: "audit: versions compared backwards (old coturn without advisories)",
			File: "checks/audit_advisories.go",
			Old:  `return x < y`,
			New:  `return x > y`,
			Pkg:  "./checks", Run: `^(TestAuditVersions|TestAuditRowsJudge)$`,
		},
		mutant{
			Name: "audit: answers that differ only in code do not tell users apart",
			File: "checks/audit_auth.go",
			Old:  `m.SetMetric("user_enumeration", boolMetric(authText(w) != authText(u)))`,
			New:  `m.SetMetric("user_enumeration", boolMetric(w.Granted != u.Granted))`,
			Pkg:  "./checks", Run: `^TestAuditRowsJudge$`,
		},
		mutant{
			Name: "audit: TLS 1.0 judged by the TLS 1.1 answer",
			File: "checks/audit_tls.go",
			Old:  `MustThreshold(Warn, "tls10_accepted == 0",`,
			New:  `MustThreshold(Warn, "tls11_accepted == 0",`,
			Pkg:  "./checks", Run: `^TestAuditTLSRow$`,
		},
		mutant{
			Name: "audit: 169.254.169.254 classed as link-local, not metadata",
			File: "probes/audit_classes.go",
			Old:  `case slices.Contains(metadataAddrs, a) || a.Is4In6() && slices.Contains(metadataAddrs, a.Unmap()):`,
			New:  `case false:`,
			Pkg:  "./probes", Run: `^TestClassOf$`,
		},
		mutant{
			Name: "audit: ::ffff:127.0.0.1 sent with the IPv4 family byte",
			File: "probes/turn_peeraddr.go",
			Old:  `if !peer.Addr().Is4() {`,
			New:  `if peer.Addr().Is6() && !peer.Addr().Is4In6() {`,
			Pkg:  "./probes", Run: `^TestPeerAddressKeepsItsFamily$`,
		},
		mutant{
			// Through the built binary, against coturn in the lab: the
			// form that passes coturn 4.6.1's filter is never asked.
			Name: "audit: IPv4-mapped peers folded into IPv4 (as pion's encoder does), binary against coturn",
			File: "probes/turn_peeraddr.go",
			Old:  "family, ip := byte(1), peer.Addr().AsSlice()\n\t\tif !peer.Addr().Is4() {",
			New:  "family, ip := byte(1), peer.Addr().Unmap().AsSlice()\n\t\tif !peer.Addr().Unmap().Is4() {",
			Pkg:  "./cmd/rtcprobe", Run: `^TestAuditPermissiveCoturn$`,
		},
		mutant{
			Name: "audit: a marker that came back not attributed to its peer",
			File: "probes/audit_udp.go",
			Old:  `ans.Arrived, ans.After = true, time.Since(sent[i])`,
			New:  `ans.Arrived, ans.After = false, time.Since(sent[i])`,
			Pkg:  "./probes", Run: `^TestAuditProvesArrival$`,
		},
		mutant{
			Name: "witness: echoes any datagram (an echo service for anyone)",
			File: "internal/witness/witness.go",
			Old:  `if n > probes.MaxMarkerSize || !strings.HasPrefix(string(buf[:n]), probes.AuditMarkerPrefix) {`,
			New:  `if n > probes.MaxMarkerSize {`,
			Pkg:  "./internal/witness", Run: `^TestUDPAnswersMarkersOnly$`,
		},
		mutant{
			Name: "witness: no echo budget",
			File: "internal/witness/witness.go",
			Old:  `if b.used >= b.n {`,
			New:  `if b.used >= 100*b.n {`,
			Pkg:  "./internal/witness", Run: `^TestUDPAnswersMarkersOnly$`,
		},
	)
}

func init() {
	mutants = append(mutants, mutant{
		Name: "a witness writes a line for every arrival of a flood",
		File: "internal/witness/witness.go",
		Old:  "\tif !r.budget.take() {\n\t\tr.skipped++\n\t\treturn\n\t}",
		New:  "\tif false {\n\t\tr.skipped++\n\t\treturn\n\t}",
		Pkg:  "./internal/witness", Run: `^TestReportsBounded$`,
	})
}
