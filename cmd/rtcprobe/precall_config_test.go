package main

import (
	"io"
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
