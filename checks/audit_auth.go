package checks

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/rtcprobe/rtcprobe/probes"
)

// The audit's rows about credentials, the SOFTWARE attribute and
// amplification: each judges one part of the audit's AuthReport.

func auditRow(id, title, description string, metrics []string, thresholds []Threshold, keep func(probes.Target) bool,
	row func(rep *probes.AuditReport, m *probes.Measurement), advice func(m probes.Measurement) string) *Check {
	return auditCheck(&Check{
		ID: id, Title: title, Description: description, Metrics: metrics, Thresholds: thresholds,
		Subjects: func(p *Plan) []Subject { return serverSubjects(p, keep) },
		Run: func(ctx context.Context, s Subject, p *Plan) probes.Measurement {
			rep, err := auditOf(ctx, s, p)
			if err != nil {
				return probes.Failed(err)
			}
			var m probes.Measurement
			row(rep, &m)
			return m
		},
		Advice: func(r Result, m probes.Measurement) string {
			if m.Err != nil {
				return ""
			}
			return advice(m)
		},
	})
}

func auditAuthCheck() *Check {
	return auditRow("audit.auth", "TURN audit: credentials required",
		"Asks for a relay without credentials: a server that grants one relays for anyone on the internet, not only for the clients it gives credentials to.",
		[]string{"unauthenticated_relay"},
		[]Threshold{MustThreshold(Fail, "unauthenticated_relay == 0", "a relay without credentials is an open proxy into the server's networks")},
		nil,
		func(rep *probes.AuditReport, m *probes.Measurement) {
			a := rep.Auth.Unauthenticated
			if a.Err != nil {
				m.Err = a.Err
				return
			}
			m.SetMetric("unauthenticated_relay", boolMetric(a.Granted))
			m.Summary = &auditFinding{coturn: []string{"lt-cred-mech"}, note: "Or use-auth-secret with static-auth-secret; never no-auth."}
			if a.Granted {
				m.AddEvidence("verdict", "an Allocate without credentials was granted a relay")
			} else {
				m.AddEvidence("verdict", fmt.Sprintf("an Allocate without credentials was refused (%d %s)", a.Code, a.Reason))
			}
		},
		func(probes.Measurement) string {
			return "Anyone can allocate a relay here. Fix: coturn: lt-cred-mech (with user= lines or a user database) or use-auth-secret with static-auth-secret, and never no-auth. " +
				"Any TURN server: require long-term or REST credentials for Allocate (RFC 8656 §9.2)."
		})
}

func auditUsersCheck() *Check {
	return auditRow("audit.users", "TURN audit: wrong password vs unknown user",
		"Allocates with the user's name and a wrong password, then with a name no server has and the same password, and compares the answers: "+
			"answers that differ tell anyone which usernames exist. Needs a static username ({option:username}).",
		[]string{"user_enumeration", "wrong_password_accepted"},
		[]Threshold{
			MustThreshold(Fail, "wrong_password_accepted == 0", "a server that takes a wrong password has no credentials at all"),
			MustThreshold(Warn, "user_enumeration == 0", "answers that differ let anyone list the usernames, then guess their passwords"),
		},
		func(t probes.Target) bool { return t.Server.Static() && t.Server.Username != "" },
		func(rep *probes.AuditReport, m *probes.Measurement) {
			w, u := rep.Auth.WrongPassword, rep.Auth.UnknownUser
			switch {
			case w.Err != nil:
				m.Err = w.Err
				return
			case u.Err != nil:
				m.Err = u.Err
				return
			}
			m.SetMetric("wrong_password_accepted", boolMetric(w.Granted || u.Granted))
			m.SetMetric("user_enumeration", boolMetric(authText(w) != authText(u)))
			m.AddEvidence("verdict", fmt.Sprintf("wrong password: %s; unknown user: %s", authText(w), authText(u)))
		},
		func(m probes.Measurement) string {
			if m.Metrics["wrong_password_accepted"] == 1 {
				return "The server granted a relay to a wrong password. Fix: check its user database and authentication mode (coturn: lt-cred-mech or use-auth-secret; no no-auth)."
			}
			return "The answer to an unknown username differs from the answer to a wrong password (" + evidence(m, "verdict") + "): anyone can test which usernames exist. " +
				"Fix: answer both with the same error code and reason phrase (RFC 8489 §9.2.4: 401 with a fresh nonce either way); coturn answers both alike."
		})
}

// versionLike finds a version number in a SOFTWARE attribute.
var versionLike = regexp.MustCompile(`\d+\.\d+`)

func authText(a probes.AuthAnswer) string {
	if a.Granted {
		return "granted a relay"
	}
	return fmt.Sprintf("%d %s", a.Code, a.Reason)
}

func auditRESTCheck() *Check {
	return auditRow("audit.rest", "TURN audit: expired REST credentials",
		"Mints TURN REST credentials from the shared secret that expired an hour ago and asks for a relay with them: a server that grants one "+
			"lets leaked credentials work for ever. Needs the secret ({option:turn_secret}).",
		[]string{"expired_accepted"},
		[]Threshold{MustThreshold(Fail, "expired_accepted == 0", "REST credentials are short-lived so that a leaked one stops working")},
		func(t probes.Target) bool { return t.Server.REST != nil },
		func(rep *probes.AuditReport, m *probes.Measurement) {
			a := rep.Auth.Expired
			if a.Err != nil {
				m.Err = a.Err
				return
			}
			m.SetMetric("expired_accepted", boolMetric(a.Granted))
			m.AddEvidence("verdict", "credentials that expired an hour ago: "+authText(a))
		},
		func(probes.Measurement) string {
			return "The server took REST credentials past their expiry. Fix: check the server's clock (NTP) and its REST mode (coturn: use-auth-secret with static-auth-secret); " +
				"any TURN server: refuse a REST username whose timestamp is in the past."
		})
}

func auditSoftwareCheck() *Check {
	return auditRow("audit.software", "TURN audit: SOFTWARE and advisories",
		"Reads the SOFTWARE attribute of the server's answers: a version there tells attackers which published vulnerabilities to try; "+
			"a version older than a release that fixes a published advisory is listed with it (by the version string alone: a distribution may have patched it).",
		[]string{"software_disclosed", "advisories"},
		[]Threshold{
			MustThreshold(Warn, "software_disclosed == 0", "a version in SOFTWARE (RFC 8489 §14.14) lets attackers pick the known holes of that release (coturn's turnserver.conf: no-software-attribute)"),
			MustThreshold(Warn, "advisories == 0", "the version named predates fixes for published vulnerabilities"),
		},
		nil,
		func(rep *probes.AuditReport, m *probes.Measurement) {
			sw := rep.Auth.Software
			server, version, named := parseSoftware(sw)
			m.SetMetric("software_disclosed", boolMetric(versionLike.MatchString(sw)))
			m.Summary = &auditFinding{coturn: []string{"no-software-attribute"}}
			found := advisoriesFor(server, version)
			m.SetMetric("advisories", float64(len(found)))
			switch {
			case sw == "":
				m.AddEvidence("verdict", "the server's answers carry no SOFTWARE attribute")
			case !named:
				m.AddEvidence("verdict", "SOFTWARE "+sw+" (no version of a server rtcprobe knows advisories for)")
			default:
				m.AddEvidence("verdict", fmt.Sprintf("SOFTWARE %s: %s %s", sw, server, version))
			}
			for _, a := range found {
				m.AddEvidence(a.id, fmt.Sprintf("fixed in %s %s: %s", a.server, a.fixed, a.what))
			}
		},
		func(m probes.Measurement) string {
			var out []string
			if m.Metrics["advisories"] > 0 {
				var ids []string
				for _, e := range m.Evidence {
					if strings.HasPrefix(e.Name, "CVE-") {
						ids = append(ids, e.Name+" ("+e.Value+")")
					}
				}
				out = append(out, "By its version string the server predates the fixes for "+strings.Join(ids, "; ")+
					". A distribution may have backported them: check its security tracker, or upgrade.")
			}
			if m.Metrics["software_disclosed"] == 1 {
				out = append(out, "Fix: coturn: no-software-attribute; any TURN server: leave the SOFTWARE attribute out of answers, or give no version in it.")
			}
			return strings.Join(out, " ")
		})
}

// maxAmplification is the most bytes an unauthenticated answer may carry
// per byte of the request: a Binding answer needs only XOR-MAPPED-ADDRESS
// (32 bytes to a 20-byte request, 40 with FINGERPRINT), so 3 leaves room
// for a FINGERPRINT and a short SOFTWARE, not for a reflector.
const maxAmplification = 3

func auditAmplificationCheck() *Check {
	return auditRow("audit.amplification", "TURN audit: amplification",
		"Sends a Binding and an Allocate without credentials over UDP and compares each answer's size with the request's: "+
			"what a request with a spoofed source makes the server send to its victim.",
		[]string{"amplification", "answer_bytes", "request_bytes"},
		[]Threshold{MustThreshold(Warn, fmt.Sprintf("amplification <= %d", maxAmplification),
			"bigger answers make the server a reflector for floods with spoofed sources")},
		func(t probes.Target) bool { return t.Transport == probes.UDP },
		func(rep *probes.AuditReport, m *probes.Measurement) {
			best := probes.SizedAnswer{}
			for _, a := range rep.Auth.Answers {
				if a.Sent > 0 && (best.Sent == 0 || a.Answers*best.Sent > best.Answers*a.Sent) {
					best = a
				}
			}
			if best.Answers == 0 {
				m.Err = fmt.Errorf("%w: no unauthenticated request over UDP was answered", probes.ErrUnsupported)
				return
			}
			m.AddEvidence("verdict", fmt.Sprintf("the biggest answer: %d bytes to a %d-byte %s (%s times)", best.Answers, best.Sent, best.Request,
				FormatNumber(float64(best.Answers)/float64(best.Sent))))
			for _, a := range rep.Auth.Answers {
				m.AddEvidence(a.Request, fmt.Sprintf("%d bytes sent, %d bytes answered", a.Sent, a.Answers))
			}
			m.SetMetric("amplification", float64(best.Answers)/float64(best.Sent))
			m.Summary = &auditFinding{coturn: []string{"no-software-attribute", "no-rfc5780"}}
			m.SetMetric("answer_bytes", float64(best.Answers))
			m.SetMetric("request_bytes", float64(best.Sent))
		},
		func(m probes.Measurement) string {
			return fmt.Sprintf("The server answers an unauthenticated request with %s times its size. Fix: coturn: no-software-attribute, and no-rfc5780 unless NAT discovery is needed "+
				"(it adds RESPONSE-ORIGIN and OTHER-ADDRESS); any TURN server: keep unauthenticated answers small, and rate-limit them per source.", FormatNumber(m.Metrics["amplification"]))
		})
}

func boolMetric(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
