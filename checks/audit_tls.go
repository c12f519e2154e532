package checks

import (
	"context"
	"crypto/tls"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

// The TLS row of the audit: what a turns: listener accepts. A client
// chooses what it offers, so what a server accepts is what an attacker
// (or an old client) gets.

var tlsAuditThresholds = []Threshold{
	MustThreshold(Warn, "tls10_accepted == 0", "RFC 8996 deprecates TLS 1.0: a client may not use it, a server should not accept it"),
	MustThreshold(Warn, "tls11_accepted == 0", "RFC 8996 deprecates TLS 1.1"),
	MustThreshold(Fail, "weak_suites == 0", "RC4 is prohibited (RFC 7465) and 3DES has 64-bit blocks (Sweet32)"),
	MustThreshold(Warn, "static_rsa == 0", "RFC 9325 §4.1: no static RSA key exchange; without forward secrecy a leaked key reads every recorded session"),
	MustThreshold(Fail, "cert_valid == 1", "clients refuse a certificate that does not verify for the server's name"),
	MustThreshold(Warn, "cert_days_left >= 14", "renew before clients start refusing it"),
}

func auditTLSCheck() *Check {
	return auditCheck(&Check{
		ID:    "audit.tls",
		Title: "TURN audit: TLS",
		Description: "Offers each turns: server's TLS listener TLS 1.0, 1.1, 1.2 and 1.3 one at a time, then only weak suites (3DES, RC4), then only static RSA key exchange, " +
			"and checks its certificate against the trust roots ({option:ca}) and the name in the URI: what the server accepts is what an attacker gets.",
		Metrics:    []string{"tls10_accepted", "tls11_accepted", "weak_suites", "static_rsa", "cert_valid", "cert_days_left"},
		Thresholds: tlsAuditThresholds,
		Subjects: func(p *Plan) []Subject {
			var out []Subject
			for _, s := range p.Servers {
				if s.IsTURN() && s.Transports()[0] == probes.TLS {
					out = append(out, Subject{Name: s.String(), Target: probes.Target{Server: s, Transport: probes.TLS, TLS: p.TLS, Proxy: p.Settings.Proxy}})
				}
			}
			return out
		},
		Run: func(ctx context.Context, s Subject, p *Plan) probes.Measurement {
			return tlsRow(probes.AuditTLS(ctx, s.Target), time.Now())
		},
		Advice: func(r Result, m probes.Measurement) string {
			if m.Err != nil {
				return ""
			}
			f, _ := m.Summary.(*auditFinding)
			if f == nil {
				return ""
			}
			return f.finding + " Fix: " + f.fix
		},
		Needs: "a turns: server (rtcprobe audit turns:HOST:5349 …)",
	})
}

// tlsRow turns what the listener accepted into the row's metrics, in
// words and with coturn's settings for what it should not accept.
func tlsRow(a probes.TLSAudit, now time.Time) probes.Measurement {
	var m probes.Measurement
	if a.Err != nil {
		m.Err = a.Err
		return m
	}
	f := &auditFinding{}
	var findings, fixes []string
	var took []string
	for _, v := range a.Versions {
		name := tls.VersionName(v.Version)
		switch {
		case v.Accepted:
			took = append(took, name)
			m.AddEvidence(name, "accepted")
		default:
			m.AddEvidence(name, v.Refusal)
		}
		switch v.Version {
		case tls.VersionTLS10:
			m.SetMetric("tls10_accepted", boolMetric(v.Accepted))
		case tls.VersionTLS11:
			m.SetMetric("tls11_accepted", boolMetric(v.Accepted))
		}
		if v.Accepted && (v.Version == tls.VersionTLS10 || v.Version == tls.VersionTLS11) {
			findings = append(findings, "accepts "+name)
			if v.Version == tls.VersionTLS10 {
				f.coturn = append(f.coturn, "no-tlsv1")
			} else {
				f.coturn = append(f.coturn, "no-tlsv1_1")
			}
		}
	}
	m.SetMetric("weak_suites", float64(len(a.Weak)))
	if len(a.Weak) > 0 {
		m.AddEvidence("weak suites", strings.Join(a.Weak, ", "))
		findings = append(findings, "accepts "+strings.Join(a.Weak, ", "))
	}
	m.SetMetric("static_rsa", boolMetric(a.StaticRSA != ""))
	if a.StaticRSA != "" {
		m.AddEvidence("static RSA", a.StaticRSA)
		findings = append(findings, "accepts static RSA key exchange ("+a.StaticRSA+")")
	}
	if len(a.Weak) > 0 || a.StaticRSA != "" {
		f.coturn = append(f.coturn, `cipher-list="ECDHE+AESGCM:ECDHE+CHACHA20"`)
		fixes = append(fixes, "any TURN server: offer only ECDHE suites with AEAD ciphers")
	}
	days := math.Floor(a.Cert.NotAfter.Sub(now).Hours() / 24)
	m.SetMetric("cert_valid", boolMetric(a.CertErr == nil))
	m.SetMetric("cert_days_left", days)
	cert := fmt.Sprintf("%s, valid until %s (%s days)", a.Cert.Subject.CommonName, a.Cert.NotAfter.UTC().Format("2006-01-02"), FormatNumber(days))
	if a.CertErr != nil {
		cert += "; does not verify: " + a.CertErr.Error()
		findings = append(findings, "shows a certificate that does not verify ("+a.CertErr.Error()+")")
		fixes = append(fixes, "a certificate from a CA clients trust, for the name in the turns: URI (coturn: cert, pkey)")
	} else if days < 14 {
		findings = append(findings, fmt.Sprintf("shows a certificate that expires in %s days", FormatNumber(days)))
		fixes = append(fixes, "renew the certificate (coturn reloads it on SIGUSR2)")
	}
	m.Evidence = append([]probes.Evidence{{Name: "verdict", Value: "accepts " + strings.Join(took, ", ") + "; certificate " + cert}}, m.Evidence...)
	if len(findings) > 0 {
		f.finding = "The TLS listener " + strings.Join(findings, "; ") + "."
		parts := []string{}
		if len(f.coturn) > 0 {
			parts = append(parts, "coturn: "+strings.Join(f.coturn, ", "))
		}
		f.fix = strings.Join(append(parts, fixes...), "; ") + "."
	}
	m.Summary = f
	return m
}
