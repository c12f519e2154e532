package conformance

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/internal/coturn"
	"github.com/rtcprobe/rtcprobe/internal/testenv"
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
		name     string
		cfg      coturn.Config
		user     string // "" for none
		packets  int
		noSTUN   bool // turnutils_stunclient gets no reflexive address
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
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // a coturn of its own on ports of its own
			if tc.cfg.ListenIPs != nil && !coturn.HasIPv6() {
				testenv.Unavailable(t, "no ::1 on this machine")
			}
			tc.cfg.User, tc.cfg.Password = "u", "p"
			ct := coturn.Start(t, tc.cfg)
			user, password := "u", "p"
			if tc.user == "-" {
				user, password = "", ""
			}
			uris := []string{ct.URI("stun", ct.Host, ct.Port)}
			if user != "" {
				uris = append(uris, ct.URI("turn", ct.Host, ct.Port))
			}
			var ids []string
			for id := range tc.verdicts {
				ids = append(ids, id)
			}
			rs := run{uris: uris, user: user, password: password, ids: strings.Join(ids, ","), packets: tc.packets, timeout: 10 * time.Second}.do(t)
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
