package checks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

// answer is one peer answer of a synthetic audit.
func answer(class, relay, peer string, out probes.PeerOutcome, code int) probes.PeerAnswer {
	return probes.PeerAnswer{Class: class, Relay: relay, Peer: netip.MustParseAddrPort(peer), Outcome: out, Code: code, Reason: "Reason"}
}

// arrived is a granted answer whose marker came back from a witness.
func arrived(class, relay, peer, from string) probes.PeerAnswer {
	a := answer(class, relay, peer, probes.PeerGranted, 0)
	w := probes.Witness{Network: "udp", Addr: a.Peer}
	a.Witness, a.Marker, a.Arrived, a.EchoFrom = &w, true, true, netip.MustParseAddrPort(from)
	return a
}

func allocated(answers ...probes.PeerAnswer) *probes.AuditReport {
	return &probes.AuditReport{
		Relays: []probes.AuditRelay{
			{Key: probes.RelayUDP4, Relayed: netip.MustParseAddrPort("10.0.9.1:50000")},
			{Key: probes.RelayUDP6, Err: &probes.STUNError{Code: 440, Reason: "Address Family not Supported"}},
			{Key: probes.RelayTCP4, Relayed: netip.MustParseAddrPort("10.0.9.1:50001")},
		},
		Peers: answers,
	}
}

// TestAuditPeerVerdicts: each class's row fails on proof of arrival (or a
// TCP connection), fails on the server's word alone where the class must
// be refused, warns on it where the class is usually internal, accepts
// the server's own relay addresses, and says which of proof and answer it
// rests on, never more.
func TestAuditPeerVerdicts(t *testing.T) {
	udp, tcp := auditPeerCheck(false), auditPeerCheck(true)
	for _, tt := range []struct {
		name   string
		class  string
		tcp    bool
		rep    *probes.AuditReport
		status Status
		says   []string // words of the verdict evidence or advice
		never  []string // words it must not say
	}{
		{"loopback reached", probes.ClassLoopback, false,
			allocated(arrived(probes.ClassLoopback, probes.RelayUDP4, "127.0.0.1:7000", "127.0.0.1:7000")),
			Fail, []string{"proven by arrival", "arrived at 127.0.0.1:7000", "allow-loopback-peers"}, []string{"answer only"}},
		{"loopback granted, no witness", probes.ClassLoopback, false,
			allocated(answer(probes.ClassLoopback, probes.RelayUDP4, "127.0.0.1:9", probes.PeerGranted, 0)),
			Fail, []string{"the server's answer only", "granted a permission to 127.0.0.1", "arrival not observed"}, []string{"proven", "arrived at"}},
		{"loopback granted, witness silent", probes.ClassLoopback, false,
			allocated(func() probes.PeerAnswer {
				a := answer(probes.ClassLoopback, probes.RelayUDP4, "127.0.0.1:7000", probes.PeerGranted, 0)
				w := probes.Witness{Network: "udp", Addr: a.Peer}
				a.Witness, a.Marker = &w, true
				return a
			}()),
			Fail, []string{"did not come back from the witness: arrival not observed"}, []string{"proven"}},
		{"loopback refused", probes.ClassLoopback, false,
			allocated(answer(probes.ClassLoopback, probes.RelayUDP4, "127.0.0.1:9", probes.PeerRefused, 403)),
			Pass, []string{"refused 127.0.0.1"}, nil},
		{"IPv4-in-IPv6 form of another family", probes.ClassMapped, false,
			allocated(answer(probes.ClassMapped, probes.RelayUDP4, "[::ffff:127.0.0.1]:9", probes.PeerRefused, 443)),
			Pass, nil, nil},
		{"loopback: a server error is no refusal", probes.ClassLoopback, false,
			allocated(answer(probes.ClassLoopback, probes.RelayUDP4, "127.0.0.1:9", probes.PeerRefused, 500)),
			Warn, []string{"cannot tell", "neither a policy refusal nor a relay"}, nil},
		{"loopback unanswered", probes.ClassLoopback, false,
			allocated(answer(probes.ClassLoopback, probes.RelayUDP4, "127.0.0.1:9", probes.PeerUnanswered, 0)),
			Warn, []string{"no answer"}, nil},
		{"private granted: a warning", probes.ClassPrivate, false,
			allocated(answer(probes.ClassPrivate, probes.RelayUDP4, "10.0.0.1:9", probes.PeerGranted, 0)),
			Warn, []string{"the server's answer only", "denied-peer-ip=10.0.0.0-10.255.255.255"}, []string{"proven"}},
		{"private reached", probes.ClassPrivate, false,
			allocated(arrived(probes.ClassPrivate, probes.RelayUDP4, "10.1.2.2:7000", "10.1.2.2:7000")),
			Fail, []string{"proven by arrival"}, nil},
		{"own relay address granted", probes.ClassOwn, false,
			allocated(answer(probes.ClassOwn, probes.RelayUDP4, "10.0.9.1:9", probes.PeerGranted, 0)),
			Pass, []string{"calls between two clients of this server need"}, nil},
		{"own address: a service reached", probes.ClassOwn, false,
			allocated(arrived(probes.ClassOwn, probes.RelayUDP4, "10.0.9.1:7001", "10.0.9.1:7001")),
			Fail, []string{"proven by arrival"}, nil},
		{"the TCP relay connected to the CLI", probes.ClassLoopback, true,
			allocated(answer(probes.ClassLoopback, probes.RelayTCP4, "127.0.0.1:5766", probes.PeerConnected, 0)),
			Fail, []string{"opened a TCP connection to 127.0.0.1:5766", "no-tcp-relay", "no-cli"}, nil},
		{"the TCP relay tried", probes.ClassLoopback, true,
			allocated(answer(probes.ClassLoopback, probes.RelayTCP4, "127.0.0.1:5766", probes.PeerConnectFailed, 447)),
			Fail, []string{"tried to connect to 127.0.0.1:5766", "the connection failed"}, []string{"opened a TCP connection"}},
		{"no TCP relays", probes.ClassLoopback, true,
			&probes.AuditReport{Relays: []probes.AuditRelay{{Key: probes.RelayTCP4, Err: &probes.STUNError{Code: 442, Reason: "Unsupported Transport Protocol"}}}},
			Pass, []string{"no TCP relays"}, nil},
		{"UDP rows ignore TCP answers", probes.ClassLoopback, false,
			allocated(answer(probes.ClassLoopback, probes.RelayTCP4, "127.0.0.1:5766", probes.PeerConnected, 0)),
			Pass, nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := udp
			if tt.tcp {
				c = tcp
			}
			m := peerRow(tt.rep, tt.class, tt.tcp, nil)
			r := c.Judge(Subject{Name: "turn:x → " + tt.class, Part: tt.class}, m, time.Millisecond, c.Thresholds)
			if r.Status != tt.status {
				t.Errorf("status %s, want %s (%s → %s)", r.Status, tt.status, r.Error, r.Advice)
			}
			said := strings.ToLower(evidence(m, "verdict") + " " + r.Advice + " " + r.Error)
			for _, w := range tt.says {
				if !strings.Contains(said, strings.ToLower(w)) {
					t.Errorf("lacks %q: %s", w, said)
				}
			}
			for _, w := range tt.never {
				if strings.Contains(said, strings.ToLower(w)) {
					t.Errorf("claims %q: %s", w, said)
				}
			}
		})
	}
}

// TestAuditRowsJudge: the rows about credentials, SOFTWARE and
// amplification.
func TestAuditRowsJudge(t *testing.T) {
	judge := func(id string, rep *probes.AuditReport) Result {
		t.Helper()
		for _, c := range auditChecks() {
			if c.ID != id {
				continue
			}
			p := &Plan{Memo: NewMemo(0)}
			key := "audit turn:127.0.0.1:3478 udp"
			p.Memo.Do(context.Background(), key, func(context.Context) any { return rep })
			srv, _ := probes.ParseServer("turn:127.0.0.1:3478")
			s := Subject{Name: "turn:127.0.0.1:3478", Target: probes.Target{Server: srv, Transport: probes.UDP}}
			m := c.Run(context.Background(), s, p)
			return c.Judge(s, m, time.Millisecond, c.Thresholds)
		}
		t.Fatalf("no check %s", id)
		return Result{}
	}
	auth := func(a probes.AuthReport) *probes.AuditReport { return &probes.AuditReport{Auth: a} }
	refused := probes.AuthAnswer{Asked: true, Code: 401, Reason: "Unauthorized"}
	for _, tt := range []struct {
		name, id string
		rep      *probes.AuditReport
		status   Status
		says     string
	}{
		{"credentials required", "audit.auth", auth(probes.AuthReport{Unauthenticated: refused}), Pass, "refused (401"},
		{"a relay for anyone", "audit.auth", auth(probes.AuthReport{Unauthenticated: probes.AuthAnswer{Asked: true, Granted: true}}), Fail, "lt-cred-mech"},
		{"same answers", "audit.users", auth(probes.AuthReport{WrongPassword: refused, UnknownUser: refused}), Pass, "unknown user: 401"},
		{"answers that tell users apart", "audit.users",
			auth(probes.AuthReport{WrongPassword: probes.AuthAnswer{Asked: true, Code: 441, Reason: "Wrong Credentials"}, UnknownUser: refused}), Warn, "usernames exist"},
		{"a wrong password taken", "audit.users", auth(probes.AuthReport{WrongPassword: probes.AuthAnswer{Asked: true, Granted: true}, UnknownUser: refused}), Fail, "wrong password"},
		{"expired REST refused", "audit.rest", auth(probes.AuthReport{Expired: refused}), Pass, "expired an hour ago"},
		{"expired REST taken", "audit.rest", auth(probes.AuthReport{Expired: probes.AuthAnswer{Asked: true, Granted: true}}), Fail, "past their expiry"},
		{"no SOFTWARE", "audit.software", auth(probes.AuthReport{SoftwareAsked: true}), Pass, "no SOFTWARE"},
		{"an old coturn", "audit.software", auth(probes.AuthReport{Software: "Coturn-4.5.1.3 'dan Eider'"}), Warn, "CVE-2020-26262"},
		{"a version without advisories", "audit.software", auth(probes.AuthReport{Software: "Coturn-4.10.0 'Gorst'"}), Warn, "no-software-attribute"},
		{"small answers", "audit.amplification", auth(probes.AuthReport{Answers: []probes.SizedAnswer{{Request: "Binding", Sent: 28, Answers: 40}}}), Pass, "40 bytes"},
		{"big answers", "audit.amplification", auth(probes.AuthReport{Answers: []probes.SizedAnswer{{Request: "Binding", Sent: 20, Answers: 80}, {Request: "Allocate", Sent: 36, Answers: 88}}}), Warn, "4 times"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := judge(tt.id, tt.rep)
			if r.Status != tt.status {
				t.Errorf("status %s, want %s (%s → %s)", r.Status, tt.status, r.Error, r.Advice)
			}
			said := r.Advice + " " + r.Error
			for _, e := range r.Evidence {
				said += " " + e.Name + " " + e.Value
			}
			if !strings.Contains(said, tt.says) {
				t.Errorf("lacks %q: %s", tt.says, said)
			}
		})
	}
	// Only the advisories fixed after the version named.
	r := judge("audit.software", auth(probes.AuthReport{Software: "Coturn-4.6.1 'Gorst'"}))
	if r.Metrics["advisories"] != 2 || evidence(probes.Measurement{Evidence: r.Evidence}, "CVE-2026-27624") == "" ||
		evidence(probes.Measurement{Evidence: r.Evidence}, "CVE-2020-26262") != "" {
		t.Errorf("coturn 4.6.1: %v %v", r.Metrics, r.Evidence)
	}
}

func TestAuditVersions(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		less bool
	}{{"4.5.1.3", "4.5.2", true}, {"4.5.2", "4.5.2", false}, {"4.9.0", "4.10.0", true}, {"4.10.0", "4.9.0", false}, {"4.5", "4.5.0.1", true}} {
		if got := versionLess(tt.a, tt.b); got != tt.less {
			t.Errorf("versionLess(%s, %s) = %v", tt.a, tt.b, got)
		}
	}
	if s, v, ok := parseSoftware("Coturn-4.6.1 'Gorst'"); !ok || s != "coturn" || v != "4.6.1" {
		t.Errorf("parseSoftware: %q %q %v", s, v, ok)
	}
	if _, _, ok := parseSoftware("pion/turn"); ok {
		t.Error("a SOFTWARE without a version names one")
	}
}

func TestCoturnRange(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.0/8":     "10.0.0.0-10.255.255.255",
		"100.64.0.0/10":  "100.64.0.0-100.127.255.255",
		"192.0.2.7/32":   "192.0.2.7",
		"fc00::/7":       "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"fd12:3456::/48": "fd12:3456::-fd12:3456:0:ffff:ffff:ffff:ffff:ffff",
	} {
		if got := coturnRange(netip.MustParsePrefix(in)); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

// TestAuditGrade: the summary is the worst of the server's rows, names
// them, and gathers their coturn settings once each.
func TestAuditGrade(t *testing.T) {
	srv, _ := probes.ParseServer("turn:10.0.0.2:3478")
	other, _ := probes.ParseServer("turn:10.0.0.3:3478")
	tlsSrv, _ := probes.ParseServer("turns:10.0.0.2:5349")
	row := func(id, target string, st Status, s probes.Server, f *auditFinding) Result {
		return Result{CheckID: id, Target: target, Status: st, Subject: Subject{Target: probes.Target{Server: s}}.Kept(), Summary: f}
	}
	all := []Result{
		row("audit.udp", "turn:10.0.0.2:3478 → loopback", Fail, srv, &auditFinding{coturn: []string{"denied-peer-ip=127.0.0.0-127.255.255.255"}, note: "Remove allow-loopback-peers."}),
		row("audit.tcp", "turn:10.0.0.2:3478 → loopback", Fail, srv, &auditFinding{coturn: []string{"denied-peer-ip=127.0.0.0-127.255.255.255", "no-tcp-relay"}}),
		row("audit.udp", "turn:10.0.0.2:3478 → private", Warn, srv, &auditFinding{coturn: []string{"denied-peer-ip=10.0.0.0-10.255.255.255"}}),
		row("audit.udp", "turn:10.0.0.2:3478 → multicast", Pass, srv, &auditFinding{coturn: []string{"no-multicast-peers"}}),
		row("audit.udp", "turn:10.0.0.3:3478 → loopback", Fail, other, nil),
		row("audit.tls", "turns:10.0.0.2:5349", Warn, tlsSrv, &auditFinding{coturn: []string{"no-tlsv1"}}),
		row("audit.summary", "turn:10.0.0.2:3478", Pass, srv, nil),
	}
	mine := []*Result{&all[len(all)-1]}
	auditGrade(mine, all)
	sum := *mine[0]
	if sum.Status != Fail || sum.Metrics["rows_fail"] != 2 || sum.Metrics["rows_warn"] != 2 || sum.Metrics["rows_pass"] != 1 {
		t.Errorf("summary %s %v", sum.Status, sum.Metrics)
	}
	for _, w := range []string{"udp loopback", "tcp loopback", "udp private", "tls"} {
		if !strings.Contains(sum.Error, w) {
			t.Errorf("grade %q lacks %q", sum.Error, w)
		}
	}
	if strings.Count(sum.Advice, "denied-peer-ip=127.0.0.0-127.255.255.255") != 1 || !strings.Contains(sum.Advice, "no-tcp-relay") ||
		strings.Contains(sum.Advice, "no-multicast-peers") || !strings.Contains(sum.Advice, "Remove allow-loopback-peers.") {
		t.Errorf("advice %q", sum.Advice)
	}
	warned := []Result{row("audit.udp", "turn:10.0.0.2:3478 → private", Warn, srv, nil), row("audit.summary", "turn:10.0.0.2:3478", Pass, srv, nil)}
	auditGrade([]*Result{&warned[1]}, warned)
	if warned[1].Status != Warn || !strings.HasPrefix(warned[1].Error, "B:") {
		t.Errorf("a warning only: %s %q", warned[1].Status, warned[1].Error)
	}
	clean := []Result{row("audit.udp", "turn:10.0.0.2:3478 → loopback", Pass, srv, nil), row("audit.summary", "turn:10.0.0.2:3478", Pass, srv, nil)}
	auditGrade([]*Result{&clean[1]}, clean)
	if clean[1].Status != Pass || !strings.HasPrefix(clean[1].Evidence[0].Value, "A:") {
		t.Errorf("clean summary %s %v", clean[1].Status, clean[1].Evidence)
	}
}

// TestAuditEmbeddedServer runs the audit rows against the embedded
// server, which relays only between its own relays: every row passes,
// the audit is one per host, and a host answers in about a second.
func TestAuditEmbeddedServer(t *testing.T) {
	testenv.CheckGoroutines(t)
	emb, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	// Not audit.tls: the embedded server's certificate lasts the run only,
	// which that row rightly warns about.
	p := &Plan{Servers: emb.Servers(), Checks: MustSelect(Catalog(), "audit.udp,audit.tcp,audit.auth,audit.users,audit.software,audit.amplification,audit.summary"), Memo: NewMemo(0), TLS: &tls.Config{RootCAs: emb.CertPool(), MinVersion: tls.VersionTLS12},
		Settings: config.Settings{Timeout: 30 * time.Second, Concurrency: 8, AuditInternal: []netip.Prefix{netip.MustParsePrefix("10.99.0.0/16")}}}
	results := Run(context.Background(), p, nil)
	hosts := map[string]bool{}
	for _, r := range results {
		hosts[r.Subject.Target.Server.URI.Host] = true
		if r.Status != Pass {
			t.Errorf("%s %s: %s (%s → %s)", r.CheckID, r.Target, r.Status, r.Error, r.Advice)
		}
		if r.Duration > 10*time.Second {
			t.Errorf("%s %s took %s", r.CheckID, r.Target, r.Duration)
		}
	}
	if n := countID(results, "audit.summary"); n != 1 {
		t.Errorf("%d summaries for one host", n)
	}
	if countID(results, "audit.udp") < 11 || countID(results, "audit.tcp") < 8 {
		t.Errorf("peer rows: udp %d, tcp %d", countID(results, "audit.udp"), countID(results, "audit.tcp"))
	}
	if emb.RefusedPeers() == 0 {
		t.Error("the embedded server refused no peer: was it asked?")
	}
}

func countID(rs []Result, id string) int {
	n := 0
	for _, r := range rs {
		if r.CheckID == id {
			n++
		}
	}
	return n
}

// TestAuditCannotStart: with credentials the server refuses, every row
// says so, with the diagnosis table's cause.
func TestAuditCannotStart(t *testing.T) {
	emb, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	srv := emb.Servers()[1]
	srv.Password = "wrong"
	p := &Plan{Servers: []probes.Server{srv}, Checks: MustSelect(Catalog(), "audit.udp,audit.tcp"), Memo: NewMemo(0),
		Settings: config.Settings{Timeout: 30 * time.Second, Concurrency: 8}}
	for _, r := range Run(context.Background(), p, nil) {
		var se *probes.STUNError
		if r.Status != Fail || !errors.As(r.Cause, &se) || se.Code != 401 {
			t.Errorf("%s %s: %s %v", r.CheckID, r.Target, r.Status, r.Cause)
		}
	}
}

// TestAuditTLSRow: old versions and static RSA warn, weak suites and a
// certificate that does not verify fail, one about to expire warns.
func TestAuditTLSRow(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	cert := &x509.Certificate{Subject: pkix.Name{CommonName: "turn.example.org"}, NotAfter: now.Add(90 * 24 * time.Hour)}
	offers := func(accepted ...uint16) []probes.TLSOffer {
		var out []probes.TLSOffer
		for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13} {
			out = append(out, probes.TLSOffer{Version: v, Accepted: slices.Contains(accepted, v), Refusal: "refused with alert protocol version"})
		}
		return out
	}
	c := auditTLSCheck()
	for _, tt := range []struct {
		name   string
		a      probes.TLSAudit
		status Status
		says   string
	}{
		{"modern", probes.TLSAudit{Versions: offers(tls.VersionTLS12, tls.VersionTLS13), Cert: cert}, Pass, "accepts TLS 1.2, TLS 1.3"},
		{"TLS 1.0", probes.TLSAudit{Versions: offers(tls.VersionTLS10, tls.VersionTLS12), Cert: cert}, Warn, "no-tlsv1"},
		{"TLS 1.1", probes.TLSAudit{Versions: offers(tls.VersionTLS11, tls.VersionTLS12), Cert: cert}, Warn, "no-tlsv1_1"},
		{"3DES", probes.TLSAudit{Versions: offers(tls.VersionTLS12), Cert: cert, Weak: []string{"TLS_RSA_WITH_3DES_EDE_CBC_SHA"}}, Fail, "cipher-list="},
		{"static RSA", probes.TLSAudit{Versions: offers(tls.VersionTLS12), Cert: cert, StaticRSA: "TLS_RSA_WITH_AES_128_GCM_SHA256"}, Warn, "static RSA"},
		{"wrong name", probes.TLSAudit{Versions: offers(tls.VersionTLS12), Cert: cert, CertErr: errors.New("x509: certificate is valid for turn.example.org, not turn.example.com")}, Fail, "does not verify"},
		{"expiring", probes.TLSAudit{Versions: offers(tls.VersionTLS12), Cert: &x509.Certificate{NotAfter: now.Add(5 * 24 * time.Hour)}}, Warn, "expires in 5 days"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := tlsRow(tt.a, now)
			r := c.Judge(Subject{}, m, time.Millisecond, c.Thresholds)
			said := r.Error + " " + r.Advice + " " + evidence(m, "verdict")
			if r.Status != tt.status || !strings.Contains(said, tt.says) {
				t.Errorf("%s, want %s with %q: %s", r.Status, tt.status, tt.says, said)
			}
		})
	}
}
