package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"

	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
	"github.com/rtcprobe/rtcprobe/probes"
)

func startServer(t *testing.T, cfg iceserver.Config) *iceserver.Server {
	t.Helper()
	srv, err := iceserver.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func TestDefaultRunExercisesEveryTURNTransport(t *testing.T) {
	res := rtcprobe(t, "--json", "-", "--checks", "turn", "--turn-packets", "5")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	var rep jsonReport
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, c := range rep.Checks {
		got[c.ID] = true
		if c.Status != "pass" || c.Metrics["packets_received"] != 5 || c.Metrics["alloc_ms"] <= 0 {
			t.Errorf("%s %s: %s %v", c.ID, c.Target, c.Status, c.Metrics)
		}
	}
	for _, id := range []string{"turn.udp", "turn.tcp", "turn.tls", "turn.dtls"} {
		if !got[id] {
			t.Errorf("%s did not run by default", id)
		}
	}
}

func TestTURNCredentialUsageErrors(t *testing.T) {
	caFile := filepath.Join(t.TempDir(), "not-a-cert.pem")
	if err := os.WriteFile(caFile, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--user", "alice", "turns:127.0.0.1:5349"}, "turns:127.0.0.1:5349 needs both --user and --password"},
		{[]string{"--user", "a", "--password", "p", "--turn-secret", "s", "turn:127.0.0.1"}, "exclude each other"},
		{[]string{"--turn-secret", "s", "--turn-ttl", "-1h", "turn:127.0.0.1"}, "invalid --turn-ttl"},
		{[]string{"--turn-packets", "0"}, "invalid --turn-packets"},
		{[]string{"--ca", caFile, "stun:127.0.0.1"}, "no PEM certificate"},
		{[]string{"--ca", filepath.Join(t.TempDir(), "missing.pem"), "stun:127.0.0.1"}, "missing.pem"},
	}
	for _, tc := range tests {
		res := rtcprobe(t, tc.args...)
		if res.code != exitUsage || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming %q", tc.args, res.code, res.stderr, tc.want)
		}
	}
}

// --turn-ttl and a config's ttl are one setting with one range: each
// takes what the other takes and refuses what the other refuses, with the
// same reason (issue #23, bug 5).
func TestTURNTTLOneRange(t *testing.T) {
	const why = "want a duration from 1s to 720h, like 1h"
	for _, tt := range []struct {
		ttl string
		ok  bool
	}{
		{"1s", true}, {"720h", true}, {"1h30m", true},
		{"1000h", false}, {"720h1s", false}, {"999ms", false}, {"0s", false}, {"-1h", false}, {"soon", false},
	} {
		flag := rtcprobe(t, "--turn-secret", "s", "--turn-ttl", tt.ttl, "--checks", "turn.udp", "--timeout", "1s", "turn:127.0.0.1:9")
		cfg := writeConfig(t, "version: 1\nservers:\n  - urls: turn:127.0.0.1:9\n    secret: s\n    ttl: "+tt.ttl+"\n")
		file := rtcprobe(t, "validate", "--config", cfg)
		if !tt.ok {
			if want := `invalid --turn-ttl "` + tt.ttl + `": ` + why; flag.code != exitUsage || !strings.Contains(flag.stderr, want) {
				t.Errorf("--turn-ttl %s: exit %d, stderr %q; want exit 2 and %q", tt.ttl, flag.code, flag.stderr, want)
			}
			if want := `servers[0].ttl: invalid duration "` + tt.ttl + `" (` + why + ")"; file.code != exitUsage || !strings.Contains(file.stderr, want) {
				t.Errorf("ttl: %s: exit %d, stderr %q; want exit 2 and %q", tt.ttl, file.code, file.stderr, want)
			}
			continue
		}
		if flag.code == exitUsage || strings.Contains(flag.stderr, "ttl") {
			t.Errorf("--turn-ttl %s: exit %d, stderr %q; want it taken", tt.ttl, flag.code, flag.stderr)
		}
		if file.code != exitOK {
			t.Errorf("ttl: %s: exit %d, stderr %q; want it taken", tt.ttl, file.code, file.stderr)
		}
	}
}

// TestTURNSecretsNeverPrinted runs against servers that know the password
// and the REST secret, passing and failing, and scans every byte of
// output for them and for the credentials minted from the secret.
func TestTURNSecretsNeverPrinted(t *testing.T) {
	const (
		password = "pw-Zq8-never-printed"
		secret   = "rest-secret-K2v-never-printed"
	)
	key := turn.GenerateAuthKey("alice", iceserver.Realm, password)
	static := startServer(t, iceserver.Config{AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
		return ra.Username, key, ra.Username == "alice"
	}})
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelDisabled
	rest := startServer(t, iceserver.Config{AuthHandler: turn.LongTermTURNRESTAuthHandler(secret, logs.NewLogger("test"))})
	staticURI := fmt.Sprintf("turn:127.0.0.1:%d", static.Port())
	restURI := fmt.Sprintf("turn:127.0.0.1:%d", rest.Port())

	tests := []struct {
		name     string
		env      []string
		args     []string
		wantCode int
		want     string
	}{
		{"password", nil, []string{"--user", "alice", "--password", password, staticURI}, exitOK, "turn.udp"},
		{"password json", nil, []string{"--user", "alice", "--password", password, "--json", "-", staticURI}, exitOK, `"turn.tcp"`},
		{"password from env", []string{"RTCPROBE_TURN_PASSWORD=" + password}, []string{"--user", "alice", staticURI}, exitOK, "PASS"},
		{"wrong password", nil, []string{"--user", "alice", "--password", password + "x", "--json", "-", staticURI}, exitFail, `realm \"rtcprobe.local\"`},
		{"REST secret", nil, []string{"--user", "alice", "--turn-secret", secret, "--json", "-", restURI}, exitOK, `"relayed_address"`},
		{"REST secret from env", []string{"RTCPROBE_TURN_SECRET=" + secret}, []string{restURI}, exitOK, "PASS"},
		{"wrong REST secret", nil, []string{"--turn-secret", secret + "x", restURI}, exitFail, "REST secret"},
		{"no credentials", nil, []string{"--json", "-", staticURI}, exitFail, "username or password is missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now()
			res := rtcprobeEnv(t, tc.env, append([]string{"--checks", "stun,turn", "--turn-packets", "3", "--check-timeout", "3s"}, tc.args...)...)
			out := res.stdout + res.stderr
			if res.code != tc.wantCode || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d (want %d), output lacks %q:\n%s", res.code, tc.wantCode, tc.want, out)
			}
			leaks := []string{password, secret}
			// Whatever the binary minted from the secret during the run.
			for ts := before.Add(-time.Second); !ts.After(time.Now().Add(time.Second)); ts = ts.Add(time.Second) {
				for _, user := range []string{"", "alice"} {
					_, minted := probes.RESTCredentials(secret, user, 24*time.Hour, ts)
					leaks = append(leaks, minted)
				}
			}
			for _, s := range leaks {
				if strings.Contains(out, s) {
					t.Fatalf("output contains the secret %q", s)
				}
			}
		})
	}
}

func TestTURNOverTLSWithCAFile(t *testing.T) {
	srv := startServer(t, iceserver.Config{})
	user, pass := srv.Credentials()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, srv.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	uri := fmt.Sprintf("turns:127.0.0.1:%d", srv.TLSPort())
	env := []string{"RTCPROBE_TURN_PASSWORD=" + pass}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"trusted with --ca", []string{"--ca", caFile}, exitOK, "turn.tls"},
		{"--insecure", []string{"--insecure"}, exitOK, "turn.tls"},
		{"untrusted", nil, exitFail, "private CA's certificate (--ca)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := rtcprobeEnv(t, env, append(append([]string{"--checks", "stun,turn", "--user", user, "--turn-packets", "3"}, tc.args...), uri)...)
			if res.code != tc.wantCode || !strings.Contains(res.stdout, tc.want) {
				t.Errorf("exit %d (want %d), stdout lacks %q:\n%s%s", res.code, tc.wantCode, tc.want, res.stdout, res.stderr)
			}
		})
	}
}

// TestTURNAgainstCoturn is the command line against a real coturn: every
// transport relays with long-term credentials, a wrong password fails with
// the 401 advice naming the realm, and REST credentials from the shared
// secret work.
func TestTURNAgainstCoturn(t *testing.T) {
	ct := coturn.Start(t, coturn.Config{User: "u", Password: "p", Realm: "r", TLS: true})
	const secret = "cli-rest-secret"
	rest := coturn.Start(t, coturn.Config{AuthSecret: secret})
	plain := ct.URI("turn", "127.0.0.1", ct.Port)
	secure := ct.URI("turns", "127.0.0.1", ct.TLSPort)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"long-term credentials", []string{"--user", "u", "--password", "p", "--ca", ct.CertFile, plain, secure, secure + "?transport=udp"},
			exitOK, []string{"turn.udp", "turn.tcp", "turn.tls", "turn.dtls", "rtt median", "loss 0%"}},
		{"wrong password", []string{"--user", "u", "--password", "nope", "--checks", "turn.udp", "--json", "-", plain},
			exitFail, []string{"401", `realm \"r\"`, "password is wrong"}},
		{"REST secret", []string{"--user", "alice", "--turn-secret", secret, rest.URI("turn", "127.0.0.1", rest.Port)},
			exitOK, []string{"turn.udp", "turn.tcp", "PASS"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := rtcprobe(t, append([]string{"--checks", "stun,turn", "--turn-packets", "5"}, tc.args...)...)
			if res.code != tc.wantCode {
				t.Errorf("exit %d, want %d", res.code, tc.wantCode)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.stdout, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			if t.Failed() {
				t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
			}
		})
	}
}
