package checks

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

// The audit asks a TURN server, as any client with credentials could,
// whether it relays to places behind it: its rows are opt-in (rtcprobe
// audit, --checks audit) and share one audit of each server. Every row is
// an ordinary check result, so every report carries it.

// auditTimeout bounds one audit of a server, which the first row to run
// measures and the others read.
const auditTimeout = 20 * time.Second

// auditServers are the TURN servers an audit runs against: the first
// turn:/turns: URI of each host, over the transport it names first. A
// server's relays follow one policy whichever transport a client comes
// over, so a host is audited once.
func auditServers(p *Plan) []probes.Target {
	var out []probes.Target
	for _, s := range p.Servers {
		if s.IsTURN() && !slices.ContainsFunc(out, func(t probes.Target) bool { return t.Server.URI.Host == s.URI.Host }) {
			out = append(out, probes.Target{Server: s, Transport: s.Transports()[0], TLS: p.TLS, Proxy: p.Settings.Proxy})
		}
	}
	return out
}

// auditOf returns the audit of the subject's server: measured by the
// first row that asks, shared with the others (Plan.Memo). Its
// observations are its own: the rows report what they judge.
func auditOf(ctx context.Context, s Subject, p *Plan) (*probes.AuditReport, error) {
	key := "audit " + s.Target.Server.String() + " " + string(s.Target.Transport)
	v, ok := p.Memo.Do(ctx, key, func(ctx context.Context) any {
		ctx, _ = probes.Recording(ctx)
		return probes.AuditTURN(ctx, s.Target, probes.AuditConfig{Witnesses: p.Settings.AuditWitnesses, Internal: p.Settings.AuditInternal})
	})
	if !ok {
		return nil, fmt.Errorf("the audit of %s gave no result before this row's deadline", s.Target.Server)
	}
	return v.(*probes.AuditReport), nil
}

func auditChecks() []*Check {
	return []*Check{
		auditPeerCheck(false), auditPeerCheck(true),
		auditAuthCheck(), auditUsersCheck(), auditRESTCheck(), auditSoftwareCheck(), auditTLSCheck(), auditAmplificationCheck(),
		auditSummaryCheck(),
	}
}

// auditCheck fills in what every audit row shares.
func auditCheck(c *Check) *Check {
	c.OptIn = true
	c.Timeout = auditTimeout
	// The audit allocates many relays on purpose, from its first
	// request on: it holds the quota key its whole run and never lends
	// it (its probes never call the lease's Lend), unlike the TURN checks.
	c.Serial = func(s Subject) string { return turnQuotaKey(s.Target.Server) }
	c.Needs = "a turn: or turns: server (rtcprobe audit turn:HOST …)"
	return c
}

// serverSubjects is one subject per audited server.
func serverSubjects(p *Plan, keep func(probes.Target) bool) []Subject {
	var out []Subject
	for _, t := range auditServers(p) {
		if keep == nil || keep(t) {
			out = append(out, Subject{Name: t.Server.String(), Target: t})
		}
	}
	return out
}

// auditErr is an audit that could not start at all (no answer, refused
// credentials): every row reports it, and the diagnosis table reads it.
func auditErr(rep *probes.AuditReport) error {
	if rep.Err != nil {
		return rep.Err
	}
	if a := rep.Auth.Unauthenticated; a.Err != nil && len(rep.Relays) == 0 {
		return a.Err
	}
	return nil
}
