package main

import (
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// staticPassword is the static TURN credential of the configs below.
const staticPassword = "static-pw-Zq81-never-shown"

// staticServers are the README's own server entries: a static credential
// and a REST secret.
const staticServers = `version: 1
servers:
  - urls: turn:127.0.0.1:3478
    username: alice
    credential: ${TURN_PASSWORD}
  - urls: turn:127.0.0.2:3478
    secret: ${TURN_SECRET}
`

// TestPrecallStaticCredentialRefused: a config whose precall section
// would hand a static TURN credential to every visitor is refused by
// rtcprobe validate and rtcprobe serve (exit 2, naming the entry, never
// the password); public_credential: true lets it through; and the CLI's
// own config (no precall section) stays valid, validate saying the page
// leaves that server out.
func TestPrecallStaticCredentialRefused(t *testing.T) {
	env := []string{"TURN_PASSWORD=" + staticPassword, "TURN_SECRET=sec-Kx77"}
	bad := writeConfig(t, staticServers+"precall:\n  enabled: true\n")
	res := rtcprobeEnv(t, env, "validate", "--config", bad)
	if res.code != exitUsage || !strings.Contains(res.stderr, "rtcprobe.yml:3: servers[0]: a static TURN credential would go to every visitor") ||
		!strings.Contains(res.stderr, "public_credential: true") || strings.Contains(res.stderr+res.stdout, staticPassword) {
		t.Errorf("validate: exit %d, stderr %q; want 2 naming servers[0] and public_credential, not the password", res.code, res.stderr)
	}
	res = rtcprobeEnv(t, env, "serve", "--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "r.db"), "--config", bad)
	if res.code != exitUsage || !strings.Contains(res.stderr, "servers[0]: a static TURN credential") || strings.Contains(res.stderr, staticPassword) {
		t.Errorf("serve: exit %d, stderr %q; want it refusing to start (2), naming servers[0]", res.code, res.stderr)
	}
	public := writeConfig(t, strings.Replace(staticServers, "    username: alice\n", "    username: alice\n    public_credential: true\n", 1)+"precall:\n  enabled: true\n")
	if res := rtcprobeEnv(t, env, "validate", "--config", public); res.code != 0 {
		t.Errorf("validate with public_credential: exit %d, stderr %q", res.code, res.stderr)
	}
	cli := writeConfig(t, staticServers)
	res = rtcprobeEnv(t, env, "validate", "--config", cli)
	if res.code != 0 || !strings.Contains(res.stdout, "pre-call page (rtcprobe serve) leaves out turn:127.0.0.1:3478") ||
		strings.Contains(res.stdout, "leaves out turn:127.0.0.2") || strings.Contains(res.stdout+res.stderr, staticPassword) {
		t.Errorf("validate of a CLI config: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}

// TestPrecallPageWithholdsStaticCredential: rtcprobe serve with the
// README's servers and no precall section (a CLI run's config) starts,
// and its page hands out the REST server's minted credential but never
// the static password: that server is left out of the page.
func TestPrecallPageWithholdsStaticCredential(t *testing.T) {
	env := []string{"TURN_PASSWORD=" + staticPassword, "TURN_SECRET=sec-Kx77"}
	p := startServe(t, env, "--config", writeConfig(t, staticServers))
	resp, err := http.Post("http://"+p.addr+"/api/precall/session", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("session: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), staticPassword) || strings.Contains(string(body), "127.0.0.1:3478") {
		t.Errorf("the session hands out the static credential's server:\n%s", body)
	}
	if !strings.Contains(string(body), "turn:127.0.0.2:3478") {
		t.Errorf("the session lacks the REST server:\n%s", body)
	}
	if !strings.Contains(p.stderr.String(), "left out of the page") {
		t.Errorf("the log does not say the server was left out:\n%s", p.stderr.String())
	}
}

// TestPrecallSessionLimits: precall.max_sessions and its shares are
// checked at load (validate exits 2 naming the field), and rtcprobe serve
// holds the page to them: with a cap of 2, a third session from the same
// address is 429 (its share), one from another network 503 (the cap).
func TestPrecallSessionLimits(t *testing.T) {
	bad := writeConfig(t, "version: 1\nprecall:\n  max_sessions: 50\n  max_sessions_per_address: 10\n  max_sessions_per_network: 5\n")
	res := rtcprobe(t, "validate", "--config", bad)
	if res.code != exitUsage || !strings.Contains(res.stderr, "rtcprobe.yml:5: precall.max_sessions_per_network: 5 is less than max_sessions_per_address (10)") {
		t.Errorf("validate: exit %d, stderr %q; want 2 naming the field", res.code, res.stderr)
	}
	p := startServe(t, nil, "--config", writeConfig(t, "version: 1\nprecall:\n  max_sessions: 2\n"))
	session := func(ip string) int {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
		resp, err := c.Post("http://"+p.addr+"/api/precall/session", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for i, want := range []int{201, 201, 429} {
		if code := session("127.0.0.1"); code != want {
			t.Errorf("session %d from 127.0.0.1: %d, want %d", i+1, code, want)
		}
	}
	if code := session("127.0.1.1"); code != http.StatusServiceUnavailable {
		t.Errorf("a session from another network past the cap: %d, want 503", code)
	}
	if _, body := p.get(t, "/metrics"); !strings.Contains(body, `rtcprobe_precall_refused_total{reason="address"} 1`) ||
		!strings.Contains(body, `rtcprobe_precall_refused_total{reason="full"} 1`) {
		t.Errorf("/metrics lacks the refusals:\n%s", body)
	}
}
