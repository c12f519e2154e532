package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/report"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rtcprobe.yml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func startEmbedded(t *testing.T) string {
	t.Helper()
	return startServer(t, iceserver.Config{}).Servers()[0].Addr()
}

// A CI run: profile ci, every report format at once, against a real
// loopback server whose config carries secrets. The reports must parse,
// validate against the shipped schema, and never hold a secret.
func TestCIRunWritesEveryReportWithoutSecrets(t *testing.T) {
	const password, restSecret = "pw-7f3a-never-in-output", "rest-91bc-never-in-output"
	t.Setenv("RTCPROBE_TEST_PW", password)
	t.Setenv("RTCPROBE_TEST_REST", restSecret)
	// A server that knows both credentials, so the TURN checks succeed:
	// the secrets are used, and still never shown.
	addr := startServer(t, iceserver.Config{AuthHandler: staticOrREST("alice", password, restSecret)}).Servers()[0].Addr()
	cfg := writeConfig(t, fmt.Sprintf(`servers:
  - urls: [stun:%[1]s, turn:%[1]s]
    username: alice
    credential: ${RTCPROBE_TEST_PW}
  - urls: turn:%[1]s?transport=tcp
    secret: ${RTCPROBE_TEST_REST}
    user: ci
options:
  stun_count: 3
`, addr))
	dir := t.TempDir()
	out := func(name string) string { return filepath.Join(dir, name) }
	// The server checks use the credentials; other groups (browser,
	// media) are tested in their own packages.
	groups := "stun"
	for _, c := range checks.Catalog() {
		if c.Group() == "turn" {
			groups = "stun,turn"
		}
	}
	res := rtcprobe(t, "--config", cfg, "--profile", "ci", "--checks", groups, "--junit", out("junit.xml"), "--html", out("report.html"),
		"--markdown", out("summary.md"), "--json", out("report.json"))
	if res.code != 0 && res.code != 1 {
		t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	everything := res.stdout + res.stderr
	for _, f := range []string{"junit.xml", "report.html", "summary.md", "report.json"} {
		data, err := os.ReadFile(out(f))
		if err != nil {
			t.Fatal(err)
		}
		if len(data) == 0 {
			t.Errorf("%s is empty", f)
		}
		everything += string(data)
	}
	for _, secret := range []string{password, restSecret} {
		if strings.Contains(everything, secret) {
			t.Errorf("a secret appears in the output")
		}
	}
	if !strings.Contains(everything, "stun:"+addr) {
		t.Error("the configured server is not in the reports")
	}
	// JSON validates against the schema, with 3 requests per STUN check.
	data, _ := os.ReadFile(out("report.json"))
	validateReport(t, data)
	// Every TURN row relayed: the static credential and the one minted
	// from the REST secret both worked (a run whose TURN rows all fail
	// would prove nothing about what a successful run prints).
	var rep jsonReport
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	turnRows := 0
	for _, c := range rep.Checks {
		if strings.HasPrefix(c.ID, "turn.") {
			turnRows++
			// A warning is a threshold on a loaded machine's loopback
			// RTT; what matters is that the relay carried packets.
			if (c.Status != "pass" && c.Status != "warn") || c.Metrics["packets_received"] == 0 {
				t.Errorf("%s %s: %s, %v packets relayed: want the relay to work with the configured credentials (%s)", c.ID, c.Target, c.Status, c.Metrics["packets_received"], c.Error)
			}
		}
	}
	if turnRows < 2 {
		t.Errorf("%d TURN rows, want the static and the REST server's", turnRows)
	}
	if !strings.Contains(string(data), `"responses": 3`) || !strings.Contains(string(data), `"profile": "ci"`) {
		t.Errorf("options or profile from the config not applied:\n%s", data)
	}
	// JUnit parses and names test cases group.name[target].
	var junit struct {
		Suites []struct {
			Cases []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	xdata, _ := os.ReadFile(out("junit.xml"))
	if err := xml.Unmarshal(xdata, &junit); err != nil {
		t.Fatalf("JUnit does not parse: %v", err)
	}
	if len(junit.Suites) == 0 || !strings.Contains(string(xdata), `name="stun.udp[stun:`+addr+`]"`) {
		t.Errorf("JUnit lacks stun.udp[stun:%s]:\n%s", addr, xdata)
	}
	html, _ := os.ReadFile(out("report.html"))
	for _, bad := range []string{"http://", "https://", "<script src", "<link"} {
		if bytes.Contains(html, []byte(bad)) {
			t.Errorf("HTML report refers to something outside itself: %q", bad)
		}
	}
}

func validateReport(t *testing.T, data []byte) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(report.JSONSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(v); err != nil {
		t.Errorf("report does not validate against the schema: %v", err)
	}
}

// A threshold no loopback RTT can meet turns a pass into a warn; warnings
// pass the run unless --fail-on warn (or the ci profile) says otherwise.
func TestFailOnWarn(t *testing.T) {
	addr := startEmbedded(t)
	cfg := writeConfig(t, fmt.Sprintf(`servers:
  - urls: stun:%s
checks: [stun.udp]
thresholds:
  stun.udp:
    warn: responses < 1
`, addr))
	// A count, not a time: a saturated machine cannot excuse it, so the
	// exit codes are the same on a busy machine.
	tests := []struct {
		args []string
		code int
	}{
		{nil, 0},
		{[]string{"--fail-on", "warn"}, 1},
		{[]string{"--profile", "ci"}, 1},
		{[]string{"--profile", "ci", "--fail-on", "fail"}, 0},
	}
	for _, tt := range tests {
		res := rtcprobe(t, append([]string{"--config", cfg}, tt.args...)...)
		if res.code != tt.code {
			t.Errorf("%v: exit %d, want %d\n%s%s", tt.args, res.code, tt.code, res.stdout, res.stderr)
		}
		if !strings.Contains(res.stdout, "WARN") || !strings.Contains(res.stdout, "responses is") {
			t.Errorf("%v: the config's threshold did not judge:\n%s", tt.args, res.stdout)
		}
		if said := strings.Contains(res.stderr, "warnings fail this run"); said != (tt.code == 1) {
			t.Errorf("%v: exit %d but stderr %q", tt.args, res.code, res.stderr)
		}
	}
}

func TestConfigErrorsExit2WithFileLineField(t *testing.T) {
	bad := writeConfig(t, "servers:\n  - urls: stun:127.0.0.1\nthresholds:\n  stun.udp:\n    warn: rtt_ms <<< 3\n")
	unknown := writeConfig(t, "checks: [stun.udp, stun.quic]\n")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--config", bad}, bad + `:5: thresholds.stun.udp.warn: invalid threshold "rtt_ms <<< 3" in checks.stun.udp: more than one comparison`},
		{[]string{"validate", "--config", bad}, bad + ":5:"},
		{[]string{"list", "--config", bad}, bad + ":5:"},
		{[]string{"--config", unknown}, unknown + `:1: checks[1]: unknown check "stun.quic"`},
		{[]string{"--config", "/nonexistent/rtcprobe.yml"}, "/nonexistent/rtcprobe.yml"},
		{[]string{"--profile", "nosuch"}, `unknown profile "nosuch" (want one of: audit, ci, firewall, load, precall)`},
		{[]string{"--fail-on", "skip"}, `invalid --fail-on "skip"`},
		{[]string{"validate"}, "missing --config FILE"},
		{[]string{"--config", writeConfig(t, "checks: [stun.udp]\n"), "--checks", "stun.tcp"}, "no check selected"},
	}
	for _, tt := range tests {
		res := rtcprobe(t, tt.args...)
		if res.code != 2 {
			t.Errorf("%v: exit %d, want 2", tt.args, res.code)
		}
		if !strings.Contains(res.stderr, tt.want) {
			t.Errorf("%v: stderr %q lacks %q", tt.args, res.stderr, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Setenv("RTCPROBE_TEST_PW", "pw-never-printed")
	good := writeConfig(t, "servers:\n  - urls: turn:turn.example.com\n    username: a\n    credential: ${RTCPROBE_TEST_PW}\nprofile: firewall\n")
	res := rtcprobe(t, "validate", "--config", good)
	if res.code != 0 || !strings.Contains(res.stdout, "valid — 1 server, ") || !strings.Contains(res.stdout, "(profile firewall)") ||
		!strings.Contains(res.stdout, "turn:turn.example.com:3478") {
		t.Errorf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if strings.Contains(res.stdout+res.stderr, "pw-never-printed") {
		t.Error("validate printed the credential")
	}
}

func TestListShowsThresholdsInForce(t *testing.T) {
	cfg := writeConfig(t, "thresholds:\n  stun.udp:\n    warn: rtt_p95_ms < 42\noptions:\n  stun_count: 9\n")
	tests := []struct {
		args     []string
		want     []string
		dontWant []string
	}{
		{nil, []string{"stun.udp  STUN binding over UDP", "metrics:    rtt_median_ms", "warn unless rtt_p95_ms < 150", "ITU-T G.114", "ci ", "firewall ", "precall ", "stun_count"}, []string{"not run"}},
		{[]string{"--config", cfg}, []string{"warn unless rtt_p95_ms < 42", "set in " + cfg + ":3", "fail unless rtt_p95_ms < 400", "Options set: stun_count (" + cfg + ":5)."}, nil},
		{[]string{"--profile", "ci"}, []string{"Profile ci:", "A run fails on: warn."}, nil},
	}
	for _, tt := range tests {
		res := rtcprobe(t, append([]string{"list"}, tt.args...)...)
		if res.code != 0 {
			t.Fatalf("%v: exit %d: %s", tt.args, res.code, res.stderr)
		}
		for _, w := range tt.want {
			if !strings.Contains(res.stdout, w) {
				t.Errorf("%v: list lacks %q:\n%s", tt.args, w, res.stdout)
			}
		}
		for _, w := range tt.dontWant {
			if strings.Contains(res.stdout, w) {
				t.Errorf("%v: list has %q", tt.args, w)
			}
		}
	}
}

// On a terminal the run prints a line per check as it finishes, with
// colors unless NO_COLOR is set; on a pipe it prints neither.
func TestProgressOnTerminal(t *testing.T) {
	// script(1) gives rtcprobe a terminal.
	scriptPath := testenv.LookPath(t, "script")
	addr := startEmbedded(t)
	for _, noColor := range []bool{false, true} {
		cmd := exec.Command(scriptPath, "-qec", binary+" --checks stun stun:"+addr, "/dev/null")
		cmd.Env = os.Environ()
		if noColor {
			cmd.Env = append(cmd.Env, "NO_COLOR=1")
		}
		outb, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v\n%s", err, outb)
		}
		out := string(outb)
		if !strings.Contains(out, "[1/2]") || !strings.Contains(out, "[2/2]") {
			t.Errorf("no progress lines on a terminal:\n%s", out)
		}
		if hasColor := strings.Contains(out, "\x1b["); hasColor == noColor {
			t.Errorf("NO_COLOR=%v but colors=%v:\n%q", noColor, hasColor, out)
		}
	}
	res := rtcprobe(t, "--checks", "stun", "stun:"+addr)
	if strings.Contains(res.stdout, "[1/2]") {
		t.Errorf("progress on a pipe:\n%s", res.stdout)
	}
}

func TestHelpListsReportFlagsOnce(t *testing.T) {
	res := rtcprobe(t, "-h")
	if res.code != 0 || strings.Count(res.stderr, "Usage:") != 1 {
		t.Fatalf("exit %d, usage printed %d times", res.code, strings.Count(res.stderr, "Usage:"))
	}
	for _, f := range []string{"-config FILE", "-profile NAME", "-fail-on STATUS", "-junit FILE", "-html FILE", "-markdown FILE", "rtcprobe validate --config FILE"} {
		if !strings.Contains(res.stderr, f) {
			t.Errorf("usage lacks %q", f)
		}
	}
}

// staticOrREST accepts user with password, and any username minted from
// the TURN REST secret (coturn's use-auth-secret).
func staticOrREST(user, password, secret string) turn.AuthHandler {
	key := turn.GenerateAuthKey(user, iceserver.Realm, password)
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelDisabled
	rest := turn.LongTermTURNRESTAuthHandler(secret, logs.NewLogger("test"))
	return func(ra *turn.RequestAttributes) (string, []byte, bool) {
		if ra.Username == user {
			return ra.Username, key, true
		}
		return rest(ra)
	}
}
