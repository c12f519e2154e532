package conformance

import (
	"context"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

// verdict is what one check must say about a server: status, key words of
// the error and advice, and words of a wrong cause that must not appear.
type verdict struct {
	status checks.Status
	words  []string
	not    []string
	// orWorse accepts a worse status too (loss from a rate limiter
	// varies from run to run).
	orWorse bool
}

// TestCoturnConfigurations points rtcprobe at coturn in the
// configurations admins run it in and asserts each check's status, cause
// and advice. coturn's own STUN client, on the same server, says whether
// STUN answers at all.
func TestCoturnConfigurations(t *testing.T) {
	testenv.CheckGoroutines(t)
	ok := verdict{status: checks.Pass}
	notPath := []string{"firewall on the path silently drops", "blocked on the path", "neither SYN-ACK nor RST"}
	tests := []struct {
		name    string
		cfg     coturn.Config
		user    string // "-" for none
		secret  string // --turn-secret instead of --user/--password
		packets int
		noSTUN  bool // turnutils_stunclient gets no reflexive address
		// uris replaces the stun: and turn: URIs of the server's port.
		uris func(ct *coturn.Server) []string
		// onePort gives coturn a relay port range of one port.
		onePort bool
		// observed must be in an observation's note of every result.
		observed string
		verdicts map[string]verdict
	}{
		{name: "default", verdicts: map[string]verdict{
			"stun.udp": ok, "stun.tcp": ok, "turn.udp": ok, "turn.tcp": ok, "firewall.matrix": ok}},
		{name: "no-udp", noSTUN: true, cfg: coturn.Config{NoUDP: true}, verdicts: map[string]verdict{
			"stun.udp":        {checks.Fail, []string{"ICMP port unreachable", "nothing listens on UDP"}, notPath, false},
			"stun.tcp":        ok,
			"turn.udp":        {checks.Fail, []string{"refuses UDP", "does not listen on UDP"}, notPath, false},
			"turn.tcp":        ok,
			"firewall.matrix": {checks.Warn, []string{"refuses UDP", "No firewall on the path"}, nil, false}}},
		{name: "no-tcp", cfg: coturn.Config{NoTCP: true}, verdicts: map[string]verdict{
			"stun.udp": ok, "turn.udp": ok,
			"stun.tcp":        {checks.Warn, []string{"TCP not offered here", "RST"}, nil, false},
			"turn.tcp":        {checks.Warn, []string{"TCP not offered here"}, nil, false},
			"firewall.matrix": ok}},
		{name: "secure-stun", noSTUN: true, cfg: coturn.Config{Args: []string{"--secure-stun"}}, verdicts: map[string]verdict{
			"stun.udp": ok, "stun.tcp": ok, "turn.udp": ok, "turn.tcp": ok, "firewall.matrix": ok,
			"nat.behavior": {checks.Skip, []string{"only with credentials", "401"}, []string{"firewall", "no response"}, false}}},
		{name: "secure-stun without credentials", noSTUN: true, user: "-", cfg: coturn.Config{Args: []string{"--secure-stun"}}, verdicts: map[string]verdict{
			"stun.udp": {checks.Fail, []string{"401", "username or password is missing"}, nil, false}}},
		{name: "no-stun", noSTUN: true, cfg: coturn.Config{Args: []string{"--no-stun"}}, verdicts: map[string]verdict{
			"stun.udp": {checks.Fail, []string{"answers TURN", "not STUN Binding", "no-stun"}, notPath, false},
			"stun.tcp": {checks.Fail, []string{"answers TURN", "no-stun"}, notPath, false},
			"turn.udp": ok, "turn.tcp": ok}},
		{name: "loopback peers not allowed", cfg: coturn.Config{DenyLoopbackPeers: true}, verdicts: map[string]verdict{
			"turn.udp": {checks.Fail, []string{"403", "CreatePermission", "allow-loopback-peers"}, nil, false},
			"turn.tcp": {checks.Fail, []string{"403", "CreatePermission"}, nil, false}}},
		{name: "denied-peer-ip", cfg: coturn.Config{Args: []string{"--denied-peer-ip=127.0.0.0-127.255.255.255"}}, verdicts: map[string]verdict{
			"turn.udp": {checks.Fail, []string{"403", "CreatePermission", "denied-peer-ip"}, nil, false}}},
		{name: "user-quota=1", cfg: coturn.Config{UserQuota: 1}, verdicts: map[string]verdict{
			"turn.udp": {checks.Warn, []string{"held 1", "user-quota", "total-quota"}, []string{"Close others", "Bandwidth"}, false},
			"turn.tcp": {checks.Warn, []string{"held 1", "user-quota"}, []string{"Close others", "Bandwidth"}, false}}},
		{name: "user-quota=2", cfg: coturn.Config{UserQuota: 2}, verdicts: map[string]verdict{
			"turn.udp": ok, "turn.tcp": ok}},
		// coturn answers both limits by allocation count with the same
		// phrase, "Allocation Quota Reached"; only bandwidth has its own
		// (a bps-capacity that one session's max-bps fills).
		{name: "total-quota=1", cfg: coturn.Config{Args: []string{"--total-quota=1"}}, verdicts: map[string]verdict{
			"turn.udp": {checks.Warn, []string{"held 1", "Cannot tell from here", "total-quota", "user-quota", "another username"}, []string{"Close others"}, false}}},
		{name: "bps-capacity", cfg: coturn.Config{Args: []string{"--max-bps=100000", "--bps-capacity=100000"}}, verdicts: map[string]verdict{
			"turn.udp": {checks.Warn, []string{"Allocation Bandwidth Quota Reached", "bps-capacity"}, []string{"user-quota", "total-quota"}, false}}},
		{name: "max-bps low", cfg: coturn.Config{Args: []string{"--max-bps=3000"}}, packets: 150, verdicts: map[string]verdict{
			"turn.udp": {checks.Warn, []string{"loss_pct", "max-bps"}, []string{"blocked on the path", "expires channel bindings"}, true}}},
		// A cap that empties each second: gaps again and again, which
		// binding again does not end; never an early expiry.
		{name: "max-bps=2000", cfg: coturn.Config{Args: []string{"--max-bps=2000"}}, packets: 150, verdicts: map[string]verdict{
			"turn.udp": {checks.Warn, []string{"loss_pct", "max-bps"}, []string{"blocked on the path", "expires channel bindings", "bindings_expired"}, true}}},
		{name: "stale-nonce short", cfg: coturn.Config{Args: []string{"--stale-nonce=1"}}, packets: 150, verdicts: map[string]verdict{
			"turn.udp": ok, "turn.tcp": ok}},
		{name: "channel-lifetime short", cfg: coturn.Config{Args: []string{"--channel-lifetime=2"}}, packets: 200, verdicts: map[string]verdict{
			"turn.udp": {checks.Fail, []string{"bindings_expired", "expires channel bindings", "channel-lifetime"}, []string{"CPU", "on the path"}, false},
			"turn.tcp": {checks.Fail, []string{"bindings_expired", "channel-lifetime"}, []string{"CPU", "on the path"}, false}}},
		{name: "listening on ::1 only", cfg: coturn.Config{ListenIPs: []string{"::1"}}, verdicts: map[string]verdict{
			"stun.udp": ok,
			"turn.udp": {checks.Fail, []string{"440", "IPv4 relay", "IPv6 relay was granted"}, nil, false},
			"turn.tcp": {checks.Fail, []string{"440", "IPv4 relay", "IPv6 relay was granted"}, nil, false}}},
		// RFC 8656 §7.2: an Allocate without REQUESTED-ADDRESS-FAMILY gets
		// IPv4; this coturn hands out IPv6 to clients that ask nothing.
		{name: "allocation-default-address-family=ipv6", cfg: coturn.Config{IPv6: true, Args: []string{"--allocation-default-address-family=ipv6"}},
			observed: "no REQUESTED-ADDRESS-FAMILY; granted an IPv6 relay", verdicts: map[string]verdict{
				"turn.udp": {checks.Warn, []string{"relay_default_ipv6", "IPv6 relay ([::1]:", "named no address family", "RFC 8656", "allocation-default-address-family"}, []string{"440", "firewall", "refused"}, false},
				"turn.tcp": {checks.Warn, []string{"IPv6 relay ([::1]:", "named no address family", "allocation-default-address-family"}, []string{"440", "firewall", "refused"}, false}}},
		{name: "no-auth", cfg: coturn.Config{Auth: []string{"--no-auth"}}, verdicts: map[string]verdict{
			"turn.udp": ok, "turn.tcp": ok}},
		{name: "no-auth without credentials", user: "-", cfg: coturn.Config{Auth: []string{"--no-auth"}},
			uris: func(ct *coturn.Server) []string { return []string{ct.URI("turn", ct.Host, ct.Port)} }, verdicts: map[string]verdict{
				"turn.udp": ok, "turn.tcp": ok}},
		{name: "user of another realm", cfg: coturn.Config{Auth: []string{"--lt-cred-mech"}, Admin: [][]string{{"-a", "-u", "u", "-r", "other.test", "-p", "p"}}}, verdicts: map[string]verdict{
			"turn.udp": {checks.Fail, []string{"401", `unknown for realm "rtcprobe.test", or defined for another realm`, "password is wrong"}, []string{"REST", "firewall", "missing"}, false},
			"turn.tcp": {checks.Fail, []string{"401", `realm "rtcprobe.test"`, "another realm"}, []string{"REST", "firewall", "missing"}, false}}},
		{name: "REST secret of another realm", secret: "S3cret", cfg: coturn.Config{Auth: []string{"--use-auth-secret"}, Admin: [][]string{{"-s", "S3cret", "-r", "other.test"}}}, verdicts: map[string]verdict{
			"turn.udp": {checks.Fail, []string{"401", `no REST secret for realm "rtcprobe.test"`, "another realm", "static-auth-secret"}, []string{"password is wrong", "firewall", "missing"}, false}}},
		{name: "no-tls no-dtls, turns: to the plain port",
			uris: func(ct *coturn.Server) []string {
				return []string{ct.URI("turns", ct.Host, ct.Port), ct.URI("turns", ct.Host, ct.Port) + "?transport=udp"}
			}, verdicts: map[string]verdict{
				"turn.tls":  {checks.Fail, []string{"does not speak TLS on this port", "transport=tcp", "no-tls"}, []string{"firewall", "middlebox", "overloaded", "certificate"}, false},
				"turn.dtls": {checks.Fail, []string{"answers STUN over UDP but not a DTLS handshake", "no-dtls"}, []string{"firewall", "middlebox", "overloaded", "certificate"}, false}}},
		// Below RFC 8656's 600 s; the relay test (4 s) outlives the
		// lifetime, so rtcprobe's own refreshes are proven too.
		{name: "max-allocate-lifetime=2", cfg: coturn.Config{Args: []string{"--max-allocate-lifetime=2"}}, packets: 200, verdicts: map[string]verdict{
			"turn.udp": {checks.Warn, []string{"lifetime_s", "lifetime of 2 s", "600 s", "max-allocate-lifetime"}, []string{"bindings_expired", "no relayed packet", "were lost", "firewall"}, false},
			"turn.tcp": {checks.Warn, []string{"lifetime of 2 s", "max-allocate-lifetime"}, []string{"bindings_expired", "no relayed packet", "were lost", "firewall"}, false}}},
		{name: "no-udp-relay", cfg: coturn.Config{Args: []string{"--no-udp-relay"}}, verdicts: map[string]verdict{
			"turn.udp": {checks.Fail, []string{"442", "does not relay the requested transport, UDP", "no-udp-relay"}, []string{"firewall", "quota"}, false},
			"turn.tcp": {checks.Fail, []string{"442", "no-udp-relay"}, []string{"firewall", "quota"}, false}}},
		// One port for everything, as on 443: TCP, and TLS detected on the
		// same port (coturn: TLS sessions may use the plain port).
		{name: "TCP and TLS on one port, no UDP", noSTUN: true, cfg: coturn.Config{TLS: true, NoUDP: true},
			uris: func(ct *coturn.Server) []string {
				return []string{ct.URI("turn", ct.Host, ct.Port), ct.URI("turns", ct.Host, ct.Port)}
			}, verdicts: map[string]verdict{
				"turn.udp": {checks.Fail, []string{"refuses UDP", "TURN over TCP and TLS works", "does not listen on UDP"}, notPath, false},
				"turn.tcp": ok, "turn.tls": ok}},
		// coturn makes a channel's permission live as long as the channel:
		// relaying over the bound channel, as browsers relay, outlives the
		// 2 s permission lifetime.
		{name: "permission-lifetime short", cfg: coturn.Config{Args: []string{"--permission-lifetime=2"}}, packets: 200, verdicts: map[string]verdict{
			"turn.udp": ok, "turn.tcp": ok}},
		{name: "one relay port", onePort: true, verdicts: map[string]verdict{
			"turn.udp": {checks.Warn, []string{"capacity_held", "508", "no capacity for a second", "relay port", "min-port"}, []string{"quota", "firewall"}, false},
			"turn.tcp": {checks.Warn, []string{"508", "no capacity for a second", "min-port"}, []string{"quota", "firewall"}, false}}},
		{name: "use-auth-secret", secret: "S3cret", cfg: coturn.Config{AuthSecret: "S3cret"}, verdicts: map[string]verdict{
			"turn.udp": ok, "turn.tcp": ok}},
		{name: "use-auth-secret, wrong secret", secret: "wrong", cfg: coturn.Config{AuthSecret: "S3cret"}, verdicts: map[string]verdict{
			"turn.udp": {checks.Fail, []string{"401", "REST secret is not the server's", "static-auth-secret", "clock"}, []string{"password is wrong", "firewall", "missing"}, false},
			"turn.tcp": {checks.Fail, []string{"401", "REST secret is not the server's"}, []string{"password is wrong", "firewall", "missing"}, false}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // a coturn of its own on ports of its own
			if (tc.cfg.ListenIPs != nil || tc.cfg.IPv6) && !coturn.HasIPv6() {
				testenv.Unavailable(t, "no ::1 on this machine")
			}
			tc.cfg.User, tc.cfg.Password = "u", "p"
			if tc.onePort {
				port := strconv.Itoa(coturn.FreePort(t))
				tc.cfg.Args = append(tc.cfg.Args, "--min-port="+port, "--max-port="+port)
			}
			ct := coturn.Start(t, tc.cfg)
			user, password := "u", "p"
			if tc.user == "-" || tc.secret != "" {
				user, password = "", ""
			}
			uris := []string{ct.URI("stun", ct.Host, ct.Port)}
			if user != "" || tc.secret != "" {
				uris = append(uris, ct.URI("turn", ct.Host, ct.Port))
			}
			if tc.uris != nil {
				uris = tc.uris(ct)
			}
			var ids []string
			for id := range tc.verdicts {
				ids = append(ids, id)
			}
			rs := run{uris: uris, user: user, password: password, secret: tc.secret, ids: strings.Join(ids, ","), ca: ct.CAFile,
				packets: tc.packets, timeout: 10 * time.Second}.do(t)
			for id, v := range tc.verdicts {
				r := result(t, rs, id)
				status := v.status
				if v.orWorse && r.Status.Worse(status) {
					status = r.Status
				}
				if status == checks.Pass && r.Status == checks.Warn && onlyLatency(r) {
					// coturn over TCP now and then answers one request of
					// five after ~160 ms even on loopback.
					status = checks.Warn
				}
				want(t, r, status, v.words, v.not...)
				if tc.observed != "" && !slices.ContainsFunc(r.Observations, func(o probes.Observation) bool { return strings.Contains(o.Note, tc.observed) }) {
					t.Errorf("%s %s: no observation notes %q\n%s", id, r.Target, tc.observed, show(r))
				}
				t.Logf("%s %s: %s — %s", id, r.Target, r.Status, firstSentence(r.Error+" "+r.Advice))
			}
			if got := stunclientAnswers(t, ct); got == tc.noSTUN {
				t.Errorf("turnutils_stunclient got a reflexive address: %v, want %v", got, !tc.noSTUN)
			}
		})
	}
}

// stunclientAnswers runs coturn's own STUN client against the server: the
// yardstick for "STUN answers here".
func stunclientAnswers(t *testing.T, ct *coturn.Server) bool {
	t.Helper()
	bin := testenv.LookPath(t, "turnutils_stunclient")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-p", strconv.Itoa(ct.Port), ct.Host).CombinedOutput()
	return err == nil && strings.Contains(string(out), "reflexive addr")
}

// onlyLatency: every broken threshold is a round-trip time one.
func onlyLatency(r checks.Result) bool {
	for _, v := range r.Broken {
		if !strings.HasPrefix(v.Metric, "rtt_") {
			return false
		}
	}
	return len(r.Broken) > 0
}

func firstSentence(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, ". "); i > 0 {
		return s[:i+1]
	}
	return s
}
