package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pion/turn/v5"
	"golang.org/x/net/websocket"

	"github.com/rtcprobe/rtcprobe/internal/fanout"
	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/pgtest"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// readmeCase is what the test expects of one command line of the
// README's ```sh blocks.
type readmeCase struct {
	code int      // the exit status
	want []string // each in stdout or stderr
	// shorten is appended to the command (later flags win): the same
	// command with minutes cut to seconds and hundreds cut to tens.
	shorten []string
	// serve: the command is a server; the test waits for it to listen,
	// then check asks it something, then it is stopped.
	serve bool
	check func(t *testing.T, fx *readmeFixture, dir string)
	// secrets: the config the command names is the user's own, whose
	// ${TURN_PASSWORD} and ${TURN_SECRET} are in their environment.
	secrets bool
	// browsers: the command runs the browser checks; those run one at a
	// time, as a user runs them, not four full runs at once on two cores.
	browsers bool
	// skip says why a line is not run here.
	skip string
}

// readmeCases: every command line of the README's ```sh blocks, as
// written there (a trailing # comment removed). TestREADMECommands fails
// on a line missing from here and on an entry the README no longer has.
var readmeCases = map[string]readmeCase{
	"make run":  {code: exitOK, browsers: true, want: []string{"checks:", "PASS"}},
	"make test": {skip: "this is the run make test started"},

	// Install: these change the machine they run on, which a test never
	// does; internal/release's tests build the same files and check them
	// instead (TestSHA256SUMSChecks runs sha256sum -c; TestDebPackage
	// unpacks the .deb into a throw-away root, runs the binary, validates
	// the default config and has systemd-analyze verify the unit;
	// TestRPMPackage reads the .rpm back with rpm), and
	// examples/kubernetes' tests decode the manifests kubectl applies.
	"curl -fLO https://github.com/rtcprobe/rtcprobe/releases/download/VERSION/rtcprobe_VERSION-1_amd64.deb": {
		skip: "downloads from a public server, which no test here reaches: TestDebPackage (internal/release) builds and checks the same .deb"},
	"curl -fLO https://github.com/rtcprobe/rtcprobe/releases/download/VERSION/SHA256SUMS": {
		skip: "downloads from a public server, which no test here reaches: TestSHA256SUMSChecks (internal/release) writes and checks SHA256SUMS"},
	"podman run --rm ghcr.io/rtcprobe/rtcprobe-browsers:VERSION": {
		skip: "needs podman and a published image: TestBrowsersImageDefaultRun (internal/image, make image-test) runs the default run from the unpacked image, chrooted as its user"},
	"sha256sum -c SHA256SUMS --ignore-missing":         {skip: "TestSHA256SUMSChecks (internal/release) checks SHA256SUMS with sha256sum -c"},
	"sudo apt install ./rtcprobe_VERSION-1_amd64.deb":  {skip: "installs into this machine: TestDebPackage (internal/release) unpacks the .deb into a throw-away root"},
	"sudo dnf install ./rtcprobe-VERSION-1.x86_64.rpm": {skip: "installs into this machine: TestRPMPackage (internal/release) reads the .rpm back with rpm"},
	"sudoedit /etc/rtcprobe/rtcprobe.yml":              {skip: "an editor on this machine's config: TestDebPackage validates the packaged default"},
	"sudo systemctl enable --now rtcprobe":             {skip: "starts a service on this machine: TestDebPackage has systemd-analyze verify the unit"},
	"make image":                                       {skip: "TestSmallImageServesProbe and the other internal/image tests build the image as make image does"},
	"podman load -i dist/image/rtcprobe.tar": {
		skip: "needs podman: TestImageArchiveLoads (internal/image) loads the same archive with skopeo, the library podman load uses"},
	"podman run --rm -p 9781:9781 ghcr.io/rtcprobe/rtcprobe:VERSION serve --listen :9781": {
		skip: "needs podman: TestSmallImageServesProbe (internal/image) runs serve from the unpacked image, chrooted as its user"},
	"skopeo copy oci:dist/image/rtcprobe:VERSION docker://registry.example.org/rtcprobe:VERSION": {
		skip: "pushes to a registry: TestImageArchiveLoads and TestImageReproducible (internal/image) read the layout with skopeo"},
	"make image-test": {skip: "minutes of downloads (debootstrap): run by hand, not by make test"},
	"kubectl apply -f examples/kubernetes/configmap.yaml -f examples/kubernetes/deployment.yaml -f examples/kubernetes/service.yaml": {
		skip: "needs a cluster: examples/kubernetes' tests decode the manifests strictly into the API types"},

	"bin/rtcprobe stun:stun.example.org:3478 turn:turn.example.org:443?transport=tcp --user alice --password …": {
		code: exitOK, browsers: true, want: []string{"turn.tcp", "PASS"}},
	"bin/rtcprobe stun:127.0.0.1:9": {code: exitFail, browsers: true, want: []string{"127.0.0.1:9 refused UDP: ICMP port unreachable", "127.0.0.1:9 refused TCP"}},
	"bin/rtcprobe stun:":            {code: exitUsage, want: []string{`invalid URI "stun:": missing host`}},

	`rtcprobe --profile ci --junit junit.xml --html report.html --markdown "$GITHUB_STEP_SUMMARY"`: {
		code: exitOK, browsers: true, check: func(t *testing.T, fx *readmeFixture, dir string) {
			for _, f := range []string{"junit.xml", "report.html", fx.env["GITHUB_STEP_SUMMARY"]} {
				if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
					t.Errorf("%s not written: %v", f, err)
				}
			}
		}},
	"rtcprobe firewall turn:turn.example.org:3478 --user alice --password … --signaling wss://signal.example.org/ws": {
		code: exitOK, want: []string{"firewall.matrix", "signaling.websocket"}},

	`TURN_PASSWORD=… TURN_SECRET=… bin/rtcprobe serve --config examples/prometheus/rtcprobe.yml`: {
		serve: true, check: func(t *testing.T, fx *readmeFixture, _ string) {
			// The README's next line, curl, asks it this.
			body := httpGet(t, fx.rewrite("http://127.0.0.1:9781/probe?module=turn_udp&target=turn:turn.example.org:3478&debug=true"))
			if !strings.Contains(body, "probe_success 1") {
				t.Errorf("/probe of the TURN server did not succeed:\n%s", body)
			}
		}},
	"curl 'http://127.0.0.1:9781/probe?module=turn_udp&target=turn:turn.example.org:3478&debug=true'": {
		skip: "asked of the serve command above, while it runs"},
	"prometheus --config.file examples/prometheus/prometheus.yml": {
		serve: true, check: func(t *testing.T, fx *readmeFixture, _ string) {
			if body := httpGet(t, "http://"+fx.prometheus+"/api/v1/rules"); !strings.Contains(body, "RTCProbe") {
				t.Errorf("prometheus did not load the alert rules:\n%.500s", body)
			}
		}},

	`rtcprobe --whip https://media.example.com/whip/live --whep https://media.example.com/whep/live --whip-token "$TOKEN"`: {
		code: exitOK, browsers: true, want: []string{"whip.publish", "whep.play"}},
	"rtcprobe --checks broadcast": {code: exitOK, want: []string{"broadcast.viewers", "PASS"}},
	"rtcprobe --checks broadcast turn:turn.example.com --user u --password … --viewers 30 --broadcast-ramp": {
		code: exitOK, want: []string{"broadcast.viewers"}, shorten: []string{"--viewers", "4"}},

	"rtcprobe load turn:turn.example.com:3478 --user u --password … --calls 200 --load-duration 30s": {
		code: exitOK, want: []string{"load.turn"}, shorten: []string{"--calls", "10", "--load-duration", "2s"}},
	"rtcprobe load turn:turn.example.com --turn-secret … --calls 500 --ramp": {
		code: exitOK, want: []string{"load.turn"}, shorten: []string{"--calls", "8", "--load-duration", "1s"}},

	"rtcprobe load turn:turn.example.com --turn-secret … --calls 2000 --ramp --shard 0/3 --start-at 2026-05-04T12:00:00Z --json shard-0.json": {
		skip: "one of three machines, at a time of its own: TestLoadFleetMerge (internal/testkit/conformance) runs three shards in namespaces against coturn"},
	"rtcprobe merge shard-0.json shard-1.json shard-2.json --format json -o fleet.json": {
		skip: "needs the three machines' reports: TestLoadFleetMerge merges three shards' reports, TestMergeShards (here) two, through the binary"},
	"kubectl apply -f examples/kubernetes/load-reports-pvc.yaml": {skip: "needs a cluster: examples/kubernetes' tests decode the manifests strictly into the API types"},
	"sed \"s/2026-01-01T00:00:00Z/$(date -u -d '+5 min' +%Y-%m-%dT%H:%M:%SZ)/\" examples/kubernetes/load-job.yaml | kubectl apply -f -": {
		skip: "needs a cluster: TestLoadJobs (examples/kubernetes) checks the Job's shards, start and reports"},
	"kubectl -n monitoring wait --for=condition=complete --timeout=2h job/rtcprobe-load": {skip: "needs a cluster"},
	"kubectl apply -f examples/kubernetes/load-merge-job.yaml":                           {skip: "needs a cluster: TestLoadJobs checks it merges the load Job's reports"},
	"kubectl -n monitoring logs job/rtcprobe-load-merge":                                 {skip: "needs a cluster"},

	"rtcprobe audit turn:turn.example.org:3478 --user alice --password …": {
		code: exitOK, want: []string{"audit.udp", "audit.tcp", "audit.summary", "grade A"}},
	"rtcprobe audit turn:turn.example.org:3478 turns:turn.example.org:5349 --user alice --password … --internal 10.0.0.0/8 --witness udp:10.0.0.5:9999,tcp:10.0.0.5:9999": {
		skip: "the witnesses live in the admin's network: TestAuditPermissiveCoturn and TestAuditHardenedCoturn run this against coturn with witnesses in namespaces"},
	"rtcprobe witness udp:10.0.0.5:9999,tcp:10.0.0.5:9999": {
		skip: "a listener on a host of the admin's network: the audit lab tests run it in their namespaces"},
	"rtcprobe --repeat 20 --json soak.json": {
		code: exitOK, shorten: []string{"--repeat", "2", "--checks", "stun,turn"}, check: func(t *testing.T, _ *readmeFixture, dir string) {
			raw, err := os.ReadFile(filepath.Join(dir, "soak.json"))
			if err != nil || !bytes.Contains(raw, []byte(`"pass_rate_pct"`)) {
				t.Errorf("soak.json without the repeat summary: %v\n%.300s", err, raw)
			}
		}},
	"rtcprobe --duration 1h --interval 1m --html soak.html": {
		code: exitOK, shorten: []string{"--duration", "2s", "--interval", "1s", "--checks", "stun"}, check: func(t *testing.T, _ *readmeFixture, dir string) {
			if st, err := os.Stat(filepath.Join(dir, "soak.html")); err != nil || st.Size() == 0 {
				t.Errorf("soak.html not written: %v", err)
			}
		}},

	"rtcprobe serve": {serve: true, check: func(t *testing.T, _ *readmeFixture, dir string) {
		if body := httpGet(t, "http://127.0.0.1:9781/"); !strings.Contains(body, "<html") {
			t.Errorf("no pre-call page at /:\n%.300s", body)
		}
		if _, err := os.Stat(filepath.Join(dir, "rtcprobe.db")); err != nil {
			t.Errorf("no ./rtcprobe.db: %v", err)
		}
	}},
	"rtcprobe serve --config rtcprobe.yml --listen :9781 --db postgres://rtcprobe@db/rtcprobe --retention 30d": {
		serve: true, secrets: true, check: func(t *testing.T, fx *readmeFixture, _ string) {
			if body := httpGet(t, "http://127.0.0.1:9781/status"); !strings.Contains(body, "turn_udp") {
				t.Errorf("/status does not list the config's modules:\n%.300s", body)
			}
		}},
}

// TestREADMECommands runs every command line of the README's ```sh
// blocks through the built binary, as written but for what a test must
// replace: the example hosts become servers this test starts on loopback
// (the embedded STUN/TURN server, a wss:// echo, the fan-out WHIP/WHEP
// server behind TLS, a throw-away PostgreSQL), "…" becomes their secret,
// $TOKEN and $GITHUB_STEP_SUMMARY are set, a config file a command names
// is the example with the same hosts replaced, and the cases' shorten
// flags cut hours and hundreds down. Each is asserted on its exit status
// and key output.
func TestREADMECommands(t *testing.T) {
	t.Parallel() // waits on its own servers: beside the others of its kind, after the timed tests
	testenv.Heavy(t, "browsers, Prometheus and PostgreSQL")
	lines := readmeShellLines(t)
	for _, l := range lines {
		if _, ok := readmeCases[l]; !ok {
			t.Errorf("README command %q has no case in readmeCases: say what it must do", l)
		}
	}
	for l := range readmeCases {
		if !slices.Contains(lines, l) {
			t.Errorf("readmeCases has %q, which the README no longer shows", l)
		}
	}
	if t.Failed() {
		return
	}
	fx := startReadmeFixture(t)
	for _, l := range lines {
		tc := readmeCases[l]
		t.Run(l, func(t *testing.T) {
			if tc.skip != "" {
				t.Skip(tc.skip)
			}
			// The servers one at a time (several bind the README's port
			// 9781), then the browser runs one at a time, the rest at once.
			if !tc.serve && !tc.browsers {
				t.Parallel()
			}
			fx.run(t, l, tc)
		})
	}
}

// readmeShellLines returns the command lines of the README's ```sh
// blocks, each without its trailing comment.
func readmeShellLines(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	in := false
	for _, line := range strings.Split(string(raw), "\n") {
		switch {
		case strings.HasPrefix(line, "```"):
			in = !in && strings.TrimPrefix(line, "```") == "sh"
		case in:
			if i := strings.Index(line, " #"); i >= 0 {
				line = line[:i]
			}
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				out = append(out, line)
			}
		}
	}
	if len(out) < 10 {
		t.Fatalf("%d command lines in the README's sh blocks: the parser lost them", len(out))
	}
	return out
}

// readmeFixture holds the servers the README's example hosts stand for.
type readmeFixture struct {
	emb        *iceserver.Server
	pass       string // every user's TURN password
	secret     string // the TURN REST secret
	signaling  string // host:port of a wss:// echo
	media      string // host:port of the fan-out server behind TLS
	prometheus string // where the prometheus line listens
	postgres   string // a DSN
	repo       string // the module root
	env        map[string]string
}

func startReadmeFixture(t *testing.T) *readmeFixture {
	t.Helper()
	const pass, secret = "readme-password", "readme-secret"
	rest := turn.LongTermTURNRESTAuthHandler(secret, nil)
	emb, err := iceserver.Start(iceserver.Config{AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
		// The README's users (alice, u, the example config's prober) all
		// log in with the one password; REST names are minted from secret.
		if _, err := strconv.Atoi(strings.SplitN(ra.Username, ":", 2)[0]); err == nil {
			return rest(ra)
		}
		return ra.Username, turn.GenerateAuthKey(ra.Username, iceserver.Realm, pass), true
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	cert, err := netlab.NewCert(time.Now().Add(90*24*time.Hour), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, cert.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	tlsServer := func(h http.Handler) string {
		srv := httptest.NewUnstartedServer(h)
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv.Listener.Addr().String()
	}
	const token = "readme-token"
	fan, err := fanout.Start(fanout.Config{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fan.Close() })
	fanURL, _ := url.Parse("http://" + fan.WHIP("x").Host)
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return &readmeFixture{
		emb: emb, pass: pass, secret: secret, repo: repo,
		signaling:  tlsServer(websocket.Server{Handler: func(c *websocket.Conn) { _, _ = io.Copy(c, c) }}),
		media:      tlsServer(httputil.NewSingleHostReverseProxy(fanURL)),
		prometheus: fmt.Sprintf("127.0.0.1:%d", coturn.FreePort(t)),
		env: map[string]string{
			"SSL_CERT_FILE":       caFile, // the TLS fixtures' CA is the system's, as a public CA would be
			"TOKEN":               token,
			"GITHUB_STEP_SUMMARY": "summary.md",
		},
	}
}

var exampleHost = regexp.MustCompile(`\b(stun|turn|signal|media)\.example\.(org|com)(:\d+)?`)

// rewrite points the example hosts of s at the fixture's servers.
func (fx *readmeFixture) rewrite(s string) string {
	return exampleHost.ReplaceAllStringFunc(s, func(h string) string {
		switch {
		case strings.HasPrefix(h, "signal."):
			return fx.signaling
		case strings.HasPrefix(h, "media."):
			return fx.media
		}
		return fmt.Sprintf("127.0.0.1:%d", fx.emb.Port())
	})
}

// command turns a README line into the process to run in dir.
func (fx *readmeFixture) command(t *testing.T, line, dir string, extra []string, ownSecrets bool) *exec.Cmd {
	t.Helper()
	var env []string
	for k, v := range fx.env {
		env = append(env, k+"="+v)
	}
	fields := strings.Fields(fx.rewrite(line))
	// NAME=… before the command: the secret it stands for.
	secrets := map[string]string{"TURN_PASSWORD": fx.pass, "TURN_SECRET": fx.secret}
	for strings.Contains(fields[0], "=") {
		name, _, _ := strings.Cut(fields[0], "=")
		env, fields = append(env, name+"="+secrets[name]), fields[1:]
	}
	if ownSecrets {
		env = append(env, "TURN_PASSWORD="+fx.pass, "TURN_SECRET="+fx.secret)
	}
	args := fields[1:]
	for i, a := range args {
		switch {
		case a == "…" && i > 0 && args[i-1] == "--turn-secret":
			args[i] = fx.secret
		case a == "…":
			args[i] = fx.pass
		case strings.HasPrefix(a, `"$`):
			args[i] = fx.env[strings.Trim(a, `"$`)]
		case strings.HasPrefix(a, "postgres://"):
			args[i] = fx.postgresDSN(t)
		case a == "examples/prometheus/rtcprobe.yml" || a == "rtcprobe.yml":
			args[i] = fx.exampleConfig(t, dir)
		case a == "examples/prometheus/prometheus.yml":
			args[i] = fx.prometheusConfig(t, dir)
		}
	}
	args = append(args, extra...)
	var cmd *exec.Cmd
	switch fields[0] {
	case "make":
		cmd = exec.Command("make", args...)
		cmd.Dir = fx.repo
		env = append(env, "MAKEFLAGS=", "MAKELEVEL=")
	case "prometheus":
		bin := testenv.LookPath(t, "prometheus")
		cmd = exec.Command(bin, append(args, "--storage.tsdb.path="+filepath.Join(dir, "data"),
			"--web.listen-address="+fx.prometheus, "--log.level=warn")...)
		cmd.Dir = dir
	default: // rtcprobe, or bin/rtcprobe as built by make
		cmd = exec.Command(binary, args...)
		cmd.Dir = dir
	}
	cmd.Env = append(os.Environ(), env...)
	// A group of its own, killed when the test ends (not Pdeathsig: that
	// fires when the OS thread that started it exits, which under
	// parallel subtests is any time).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// run runs one README line and asserts its case.
func (fx *readmeFixture) run(t *testing.T, line string, tc readmeCase) {
	dir := t.TempDir()
	cmd := fx.command(t, line, dir, tc.shorten, tc.secrets)
	var out netlab.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if tc.serve {
		waitListening(t, line, fx, exited, &out)
		tc.check(t, fx, dir)
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			t.Errorf("%s did not stop on SIGTERM", line)
		}
		if t.Failed() {
			t.Logf("output:\n%s", out.String())
		}
		return
	}
	var err error
	select {
	case err = <-exited:
	case <-time.After(3 * time.Minute):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		t.Fatalf("still running after 3 minutes:\n%s", out.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if code != tc.code {
		t.Errorf("exit %d, want %d", code, tc.code)
	}
	for _, w := range tc.want {
		if !strings.Contains(text, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	if tc.check != nil {
		tc.check(t, fx, dir)
	}
	if t.Failed() {
		t.Logf("output:\n%s", text)
	}
}

// waitListening waits until the server line's port answers HTTP.
func waitListening(t *testing.T, line string, fx *readmeFixture, exited chan error, out *netlab.SyncBuffer) {
	t.Helper()
	base := "http://127.0.0.1:9781/status"
	if strings.HasPrefix(line, "prometheus") {
		base = "http://" + fx.prometheus + "/-/ready"
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base, nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("exited before listening (%v):\n%s", err, out.String())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("not listening at %s after 30s:\n%s", base, out.String())
		}
	}
}

// exampleConfig writes the example exporter config into dir with its
// hosts pointed at the fixture (the TURN host also by its allowlist).
func (fx *readmeFixture) exampleConfig(t *testing.T, dir string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fx.repo, "examples/prometheus/rtcprobe.yml"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(raw), `"turn.example.org"`, `"turn.example.org", "127.0.0.1"`)
	path := filepath.Join(dir, "rtcprobe.yml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// prometheusConfig copies the example Prometheus config and its rule
// files into dir, so the run reads them as written.
func (fx *readmeFixture) prometheusConfig(t *testing.T, dir string) string {
	t.Helper()
	src := filepath.Join(fx.repo, "examples/prometheus")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".yml") {
			raw, err := os.ReadFile(filepath.Join(src, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, e.Name()), raw, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	return filepath.Join(dir, "prometheus.yml")
}

// postgresDSN starts the throw-away PostgreSQL the first time it is asked.
func (fx *readmeFixture) postgresDSN(t *testing.T) string {
	t.Helper()
	if fx.postgres == "" {
		fx.postgres = pgtest.Start(t).DSN()
	}
	return fx.postgres
}

func httpGet(t *testing.T, u string) string {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %s\n%.300s", u, resp.Status, body)
	}
	return string(body)
}
