package config_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/checks/result"
)

var update = flag.Bool("update", false, "rewrite the expected outputs in testdata")

var testEnv = map[string]string{"TURN_PASSWORD": "pw-Zq81-never-shown", "TURN_SECRET": "sec-Kx77-never-shown"}

func parseTestConfig(t *testing.T, file string) (*config.Config, error) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return config.Parse(filepath.Base(file), data, config.Env{
		Catalog:   checks.Entries(checks.Catalog()),
		LookupEnv: func(k string) (string, bool) { v, ok := testEnv[k]; return v, ok },
	})
}

// Each testdata/config/invalid-NAME.yml must fail with the message in
// invalid-NAME.err (go test -update rewrites them; review the diff).
func TestInvalidConfigs(t *testing.T) {
	files, _ := filepath.Glob("testdata/config/invalid-*.yml")
	if len(files) < 10 {
		t.Fatalf("found %d invalid configs", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yml"), func(t *testing.T) {
			cfg, err := parseTestConfig(t, file)
			if err == nil {
				t.Fatalf("parsed without error: %+v", cfg)
			}
			var ce config.Errors
			if !errors.As(err, &ce) {
				t.Fatalf("error is %T, want ConfigErrors: %v", err, err)
			}
			for _, e := range ce {
				if e.File != filepath.Base(file) || e.Msg == "" {
					t.Errorf("error without file or message: %+v", e)
				}
			}
			for _, secret := range testEnv {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error shows a secret: %v", err)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows the password from the URI: %v", err)
			}
			golden := strings.TrimSuffix(file, ".yml") + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(err.Error()+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, rerr := os.ReadFile(golden)
			if rerr != nil {
				t.Fatalf("%v (run go test -update)", rerr)
			}
			if got := err.Error(); got != strings.TrimSpace(string(want)) {
				t.Errorf("error:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestValidConfigs(t *testing.T) {
	files, _ := filepath.Glob("testdata/config/valid-*.yml")
	if len(files) == 0 {
		t.Fatal("no valid configs")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			if _, err := parseTestConfig(t, file); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestConfigFull(t *testing.T) {
	cfg, err := parseTestConfig(t, "testdata/config/valid-full.yml")
	if err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, s := range cfg.Servers {
		uris = append(uris, s.String())
	}
	wantURIs := []string{"stun:stun.example.com:3478", "turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:443", "turn:rest.example.com:3478"}
	if !slices.Equal(uris, wantURIs) {
		t.Errorf("servers %q, want %q", uris, wantURIs)
	}
	if s := cfg.Servers[1]; s.Username != "alice" || s.Password != testEnv["TURN_PASSWORD"] {
		t.Errorf("credentials from ${TURN_PASSWORD} not applied: %q", s.Username)
	}
	// The REST secret is kept, not minted: each run mints its own.
	// coturn's use-auth-secret: username "expiry:user", password
	// base64(HMAC-SHA1(secret, username)); expiry = now + ttl (1h); the
	// expected value is computed independently with Python hmac.
	rest := cfg.Servers[3]
	if rest.Username != "" || rest.REST == nil || rest.REST.TTL != time.Hour {
		t.Fatalf("REST server %q / %+v: want the secret kept, nothing minted", rest.Username, rest.REST)
	}
	minted := rest.Minted(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if minted.Username != "1767326645:ci-runner" || minted.Password != "8mn51odNKY7Lm3jwfz/bgAFChBU=" {
		t.Errorf("REST credentials %q / %q", minted.Username, minted.Password)
	}
	if later := rest.Minted(time.Date(2026, 1, 2, 4, 4, 5, 0, time.UTC)); later.Username == minted.Username || later.Password == minted.Password {
		t.Errorf("credentials minted an hour later are the same: %q", later.Username)
	}
	if cfg.Profile != "firewall" {
		t.Errorf("profile %q", cfg.Profile)
	}
	s, err := config.Layered(cfg.Options)
	if err != nil {
		t.Fatal(err)
	}
	if s.Timeout != 45*time.Second || s.CheckTimeout != 8*time.Second || s.Concurrency != 4 || s.FailOn != result.Warn || s.STUNCount != 20 {
		t.Errorf("settings: %+v", s)
	}
	if got := cfg.Options.Keys(); !slices.Equal(got, []string{"timeout", "check_timeout", "concurrency", "fail_on", "stun_count"}) {
		t.Errorf("option keys %q", got)
	}
	office := cfg.Profiles["office"]
	if office == nil || !slices.Equal(office.Include, []config.Pattern{"turn"}) || !slices.Equal(office.Exclude, []config.Pattern{"turn.tcp"}) {
		t.Fatalf("profile office: %+v", office)
	}
}

func TestConfigAnchors(t *testing.T) {
	cfg, err := parseTestConfig(t, "testdata/config/valid-anchors.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Servers) != 2 || cfg.Servers[0].Username != "alice" || cfg.Servers[1].Username != "bob" ||
		cfg.Servers[1].Password != testEnv["TURN_PASSWORD"] {
		t.Errorf("merge keys not applied: %+v", cfg.Servers)
	}
}

func checkIDs(cs []*checks.Check) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func TestResolve(t *testing.T) {
	cat := checks.Catalog()
	full, err := parseTestConfig(t, "testdata/config/valid-full.yml")
	if err != nil {
		t.Fatal(err)
	}
	audits := 0 // the audit's checks: opt-in, a profile of their own
	for _, c := range cat {
		if strings.HasPrefix(c.ID, "audit.") {
			audits++
		}
	}
	office := func(ids []string) bool { // the turn group without turn.tcp
		for _, id := range ids {
			if !strings.HasPrefix(id, "turn.") || id == "turn.tcp" {
				return false
			}
		}
		return slices.Contains(ids, "turn.udp")
	}
	tests := []struct {
		name    string
		cfg     *config.Config
		profile string
		want    func([]string) bool
		failOn  result.Status
		err     string
	}{
		{name: "no profile runs everything", want: func(ids []string) bool { return len(ids) == len(cat) }, failOn: result.Fail},
		{name: "ci runs everything but opt-in checks, strict", profile: "ci", want: func(ids []string) bool {
			return len(ids) == len(cat)-3-audits && !slices.Contains(ids, "load.turn") && !slices.Contains(ids, "interop.codec") && !slices.Contains(ids, "interop.call") &&
				!slices.ContainsFunc(ids, func(id string) bool { return strings.HasPrefix(id, "audit.") })
		}, failOn: result.Warn},
		{name: "audit runs the audit alone", profile: "audit", want: func(ids []string) bool {
			return len(ids) == audits && slices.Contains(ids, "audit.udp") && slices.Contains(ids, "audit.summary")
		}, failOn: result.Fail},
		{name: "firewall has no media", profile: "firewall", want: func(ids []string) bool {
			return slices.Contains(ids, "stun.udp") && slices.Contains(ids, "nat.behavior") && slices.Contains(ids, "signaling.websocket") &&
				!slices.Contains(ids, "media.audio") && !slices.Contains(ids, "browser.devices") && !slices.Contains(ids, "ice.all")
		}, failOn: result.Fail},
		{name: "precall", profile: "precall", want: func(ids []string) bool {
			return slices.Contains(ids, "browser.devices") && slices.Contains(ids, "media.audio") && slices.Contains(ids, "ice.all") &&
				slices.Contains(ids, "turn.tcp") && !slices.Contains(ids, "firewall.matrix") && !slices.Contains(ids, "nat.behavior")
		}, failOn: result.Fail},
		{name: "config profile and checks narrow", cfg: full, want: func(ids []string) bool {
			return slices.Contains(ids, "stun.udp") && slices.Contains(ids, "turn.udp") && !slices.Contains(ids, "nat.behavior")
		}, failOn: result.Warn},
		{name: "profile defined in config", cfg: full, profile: "office", want: office, failOn: result.Warn},
		{name: "unknown profile", profile: "nosuch", err: `unknown profile "nosuch" (want one of: audit, ci, firewall, load, precall)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := checks.Resolve(cat, tt.cfg, tt.profile)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ids := checkIDs(r.Checks); !tt.want(ids) {
				t.Errorf("checks %q", ids)
			}
			if s, err := config.Layered(r.Layers...); err != nil || s.FailOn != tt.failOn {
				t.Errorf("fail on %s (%v), want %s", s.FailOn, err, tt.failOn)
			}
		})
	}
}

// A built-in profile naming a group this build lacks still works.
func TestBuiltinProfileToleratesMissingGroups(t *testing.T) {
	only := []*checks.Check{{ID: "stun.udp"}, {ID: "media.audio"}}
	r, err := checks.Resolve(only, nil, "firewall")
	if err != nil {
		t.Fatal(err)
	}
	if ids := checkIDs(r.Checks); !slices.Equal(ids, []string{"stun.udp"}) {
		t.Errorf("checks %q", ids)
	}
	if _, err := checks.Resolve([]*checks.Check{{ID: "media.audio"}}, nil, "firewall"); err == nil || !strings.Contains(err.Error(), "selects no check") {
		t.Errorf("profile selecting nothing: %v", err)
	}
}

func TestResolveThresholds(t *testing.T) {
	cfg, err := parseTestConfig(t, "testdata/config/valid-full.yml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := checks.Resolve(checks.Catalog(), cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	str := func(ts []result.Threshold) []string {
		var out []string
		for _, t := range ts {
			out = append(out, string(t.Level)+" "+t.String())
		}
		return out
	}
	// stun.udp: the group rule (warn p95 < 100) then the ID rule (warn
	// p95 < 80) replace the default warn; loss warn replaced; fail p95 set.
	want := []string{"warn rtt_p95_ms < 80", "fail rtt_p95_ms < 300", "warn loss_pct < 2", "fail loss_pct < 50"}
	if got := str(r.Thresholds["stun.udp"]); !slices.Equal(got, want) {
		t.Errorf("stun.udp thresholds %q, want %q", got, want)
	}
	want = []string{"warn rtt_p95_ms < 100", "fail rtt_p95_ms < 400", "warn loss_pct == 0", "fail loss_pct < 50"}
	if got := str(r.Thresholds["stun.tcp"]); !slices.Equal(got, want) {
		t.Errorf("stun.tcp thresholds %q, want %q", got, want)
	}
	if _, ok := r.Thresholds["turn.udp"]; ok {
		t.Error("turn.udp thresholds changed by a stun rule")
	}
	if reason := r.Thresholds["stun.udp"][0].Reason; reason != "set in valid-full.yml:26" {
		t.Errorf("reason %q", reason)
	}
	// The plan judges with the merged list.
	p := &checks.Plan{Thresholds: r.Thresholds}
	for _, c := range checks.Catalog() {
		if c.ID == "stun.udp" && len(p.ThresholdsFor(c)) != 4 {
			t.Errorf("plan thresholds %v", p.ThresholdsFor(c))
		}
	}
}

func TestThresholdErrorWhere(t *testing.T) {
	_, err := result.ParseThreshold(result.Warn, "rtt_ms <<< 3")
	if err == nil || err.Error() != `invalid threshold "rtt_ms <<< 3": more than one comparison` {
		t.Fatalf("got %v", err)
	}
}

// Defaults are documented: every threshold in the catalogue says where its
// number comes from, and every ID is a pattern a config can name.
func TestCatalogThresholdsHaveReasons(t *testing.T) {
	for _, c := range checks.Catalog() {
		if _, err := config.ParsePattern(checks.Entries(checks.Catalog()), c.ID); err != nil || c.Group() == c.ID || strings.ToLower(c.ID) != c.ID {
			t.Errorf("check ID %q cannot be named in a config", c.ID)
		}
		for _, th := range c.Thresholds {
			if strings.TrimSpace(th.Reason) == "" {
				t.Errorf("%s: threshold %q has no reason", c.ID, th)
			}
			if len(c.Metrics) > 0 && !slices.Contains(c.Metrics, th.Metric) {
				t.Errorf("%s: threshold on %q, which the check does not list in Metrics", c.ID, th.Metric)
			}
		}
	}
}

func BenchmarkParseConfig(b *testing.B) {
	data, err := os.ReadFile("testdata/config/valid-full.yml")
	if err != nil {
		b.Fatal(err)
	}
	env := config.Env{Catalog: checks.Entries(checks.Catalog()), LookupEnv: func(k string) (string, bool) { v, ok := testEnv[k]; return v, ok }}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := config.Parse("valid-full.yml", data, env); err != nil {
			b.Fatal(err)
		}
	}
}

// Options layer: profile, then config (a flag, applied by the caller, last).
func TestResolveOptions(t *testing.T) {
	cfg, err := parseTestConfig(t, "testdata/config/valid-full.yml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := checks.Resolve(checks.Catalog(), cfg, "office")
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := config.Layered(r.Profile.Options); s.STUNCount != 3 {
		t.Errorf("profile option: %d, want 3", s.STUNCount)
	}
	if s, _ := config.Layered(r.Layers...); s.STUNCount != 20 {
		t.Errorf("config over profile: %d, want 20", s.STUNCount)
	}
	if s, _ := config.Layered(); s.STUNCount != 5 {
		t.Errorf("default: %d, want 5", s.STUNCount)
	}
}

// No input makes the parser panic, and a rejected config always says
// where and why.
func FuzzParseConfig(f *testing.F) {
	files, _ := filepath.Glob("testdata/config/*.yml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	env := config.Env{Catalog: checks.Entries(checks.Catalog()), LookupEnv: func(k string) (string, bool) { v, ok := testEnv[k]; return v, ok }}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse("fuzz.yml", data, env)
		if err == nil {
			if cfg == nil {
				t.Fatal("nil config without error")
			}
			if _, err := checks.Resolve(checks.Catalog(), cfg, ""); err != nil && !strings.Contains(err.Error(), "profile") {
				t.Fatalf("a valid config does not resolve: %v", err)
			}
			return
		}
		var ce config.Errors
		if !errors.As(err, &ce) || len(ce) == 0 {
			t.Fatalf("error %T: %v", err, err)
		}
		for _, e := range ce {
			if e.Msg == "" || e.File != "fuzz.yml" {
				t.Fatalf("error without message or file: %+v", e)
			}
		}
	})
}

// A malformed ${...} inside a credential or REST secret is reported by
// field and line, without the text around it, which is the secret.
func TestBadEnvReferenceInSecretNotEchoed(t *testing.T) {
	for _, key := range []string{"credential", "password", "secret"} {
		t.Run(key, func(t *testing.T) {
			data := "servers:\n  - urls: turn:127.0.0.1\n    username: u\n    " + key + ": s3cret${not-a-name}\n"
			_, err := config.Parse("c.yml", []byte(data), config.Env{Catalog: checks.Entries(checks.Catalog()), LookupEnv: func(string) (string, bool) { return "", false }})
			if err == nil {
				t.Fatal("accepted a malformed reference")
			}
			if msg := err.Error(); !strings.Contains(msg, "servers[0]."+key) || strings.Contains(msg, "not-a-name") || strings.Contains(msg, "s3cret") {
				t.Errorf("error %q: want the field named and the secret hidden", msg)
			}
		})
	}
}

// whip: and whep: name media server endpoints; a token from ${VAR} is
// used, and no error about them echoes it.
func TestConfigMediaServers(t *testing.T) {
	env := config.Env{Catalog: checks.Entries(checks.Catalog()), LookupEnv: func(k string) (string, bool) {
		v, ok := map[string]string{"WHIP_TOKEN": "tok-s3cret"}[k]
		return v, ok
	}}
	cfg, err := config.Parse("m.yml", []byte("whip:\n  url: http://127.0.0.1:8080/whip/live\n  token: ${WHIP_TOKEN}\nwhep:\n  url: http://127.0.0.1:8080/whep/live\n"), env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.WHIP == nil || cfg.WHIP.Token != "tok-s3cret" || cfg.WHIP.URL.Path != "/whip/live" || cfg.WHEP == nil || cfg.WHEP.Token != "" {
		t.Errorf("whip %+v whep %+v", cfg.WHIP, cfg.WHEP)
	}
	for _, bad := range []struct{ yaml, want string }{
		{"whip:\n  token: ${WHIP_TOKEN}\n", "m.yml:2: whip: missing url"},
		{"whip:\n  url: ftp://127.0.0.1/x?key=tok-s3cret\n", "m.yml:2: whip.url: invalid URI \"ftp://127.0.0.1/x?key=…\": want an http:// or https:// URL"},
		{"whep:\n  url: http://127.0.0.1/x\n  tokn: x\n", "m.yml:3: whep.tokn: unknown field"},
		{"whip:\n  url: http://127.0.0.1/x\n  token: ${NOPE}\n", "m.yml:3: whip.token: environment variable NOPE is not set"},
	} {
		_, err := config.Parse("m.yml", []byte(bad.yaml), env)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: error %v, want %q", bad.yaml, err, bad.want)
		}
		if err != nil && strings.Contains(err.Error(), "tok-s3cret") {
			t.Errorf("%q: the error shows the token: %v", bad.yaml, err)
		}
	}
}

// TestPrecallSection: the precall: section's fields, and retention in
// days, weeks or a Go duration.
func TestPrecallSection(t *testing.T) {
	cfg, err := config.Parse("p.yml", []byte(`version: 1
servers:
  - urls: stun:a.example:3478
precall:
  enabled: true
  profile: precall
  full_client_address: true
  retention: 30d
  peer_allowed_networks: [10.0.0.0/8, "::1", "::ffff:192.168.0.0/112"]
  peer_addresses: [203.0.113.5, "2001:db8::5"]
  servers:
    - urls: turn:turn.example:3478
      secret: s3cret
      ttl: 5m
`), config.Env{Catalog: checks.Entries(checks.Catalog())})
	if err != nil {
		t.Fatal(err)
	}
	pc := cfg.Precall
	if pc == nil || pc.Disabled || !pc.FullClientAddress || pc.Retention != 30*24*time.Hour || pc.Profile != "precall" || pc.Where != "p.yml:4" {
		t.Fatalf("precall = %+v", pc)
	}
	if len(pc.Servers) != 1 || pc.Servers[0].REST == nil || pc.Servers[0].REST.TTL != 5*time.Minute || len(cfg.Servers) != 1 {
		t.Fatalf("servers: %v / %v", pc.Servers, cfg.Servers)
	}
	if fmt.Sprint(pc.PeerAllowedNetworks) != "[10.0.0.0/8 ::1/128 192.168.0.0/16]" || fmt.Sprint(pc.PeerAddresses) != "[203.0.113.5 2001:db8::5]" {
		t.Errorf("peer networks %v, addresses %v", pc.PeerAllowedNetworks, pc.PeerAddresses)
	}
	for _, bad := range []string{"peer_allowed_networks: [10.0.0.0/33]", "peer_allowed_networks: [224.0.0.0/4]", "peer_allowed_networks: [0.0.0.0]",
		"peer_allowed_networks: 10.0.0.0/8", "peer_addresses: [0.0.0.0]", "peer_addresses: [turn.example]", "peer_addresses: [10.0.0.0/8]"} {
		if _, err := config.Parse("p.yml", []byte("version: 1\nprecall:\n  "+bad+"\n"), config.Env{Catalog: checks.Entries(checks.Catalog())}); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	for in, want := range map[string]time.Duration{"0": 0, "2w": 14 * 24 * time.Hour, "90m": 90 * time.Minute, "1d": 24 * time.Hour} {
		if got, err := config.ParseRetention(in); err != nil || got != want {
			t.Errorf("config.ParseRetention(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1d", "10s", "d", "1y", "99999999d"} {
		if _, err := config.ParseRetention(bad); err == nil {
			t.Errorf("config.ParseRetention(%q) accepted", bad)
		}
	}
}

// TestPublicCredential: public_credential marks a static credential the
// pre-call page may hand out; the top-level one, the CLI's, stays
// unmarked (the page tests precall.servers).
func TestPublicCredential(t *testing.T) {
	cfg, err := parseTestConfig(t, "testdata/config/valid-precall-public-credential.yml")
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Servers[0]; !s.Static() || s.PublicCredential {
		t.Errorf("top-level server: static %v, public %v; want static, not public", s.Static(), s.PublicCredential)
	}
	pc := cfg.Precall.Servers
	if len(pc) != 2 || !pc[0].Static() || !pc[0].PublicCredential || pc[1].Static() || pc[1].PublicCredential {
		t.Errorf("precall servers: %+v", pc)
	}
}

// TestSessionLimits: precall's caps on sessions as read, and the shares
// they leave out resolved from the cap: an address a thirty-second (at
// least 2), a network an eighth (at least 4), both within the cap.
func TestSessionLimits(t *testing.T) {
	cfg, err := config.Parse("p.yml", []byte(`version: 1
precall:
  max_sessions: 64
  max_sessions_per_network: 16
  origins: [https://precall.example.com, "http://[::1]:9781"]
`), config.Env{Catalog: checks.Entries(checks.Catalog())})
	if err != nil {
		t.Fatal(err)
	}
	pc := cfg.Precall
	if pc.Sessions != (config.SessionLimits{Max: 64, PerNetwork: 16}) || len(pc.Origins) != 2 {
		t.Fatalf("precall = %+v", pc)
	}
	for _, tc := range []struct{ in, def, want config.SessionLimits }{
		{config.SessionLimits{}, config.SessionLimits{}, config.SessionLimits{100, 3, 12}},
		{pc.Sessions, config.SessionLimits{}, config.SessionLimits{64, 2, 16}},
		{config.SessionLimits{Max: 8}, config.SessionLimits{}, config.SessionLimits{8, 2, 4}},
		{config.SessionLimits{Max: 1}, config.SessionLimits{}, config.SessionLimits{1, 1, 1}},
		{config.SessionLimits{Max: 1000}, config.SessionLimits{}, config.SessionLimits{1000, 31, 125}},
		{config.SessionLimits{}, config.SessionLimits{Max: 256, PerAddress: 256}, config.SessionLimits{256, 256, 256}},
		{config.SessionLimits{PerAddress: 5}, config.SessionLimits{Max: 20, PerAddress: 9}, config.SessionLimits{20, 5, 5}},
	} {
		if got := tc.in.Resolved(tc.def); got != tc.want {
			t.Errorf("%+v.Resolved(%+v) = %+v, want %+v", tc.in, tc.def, got, tc.want)
		}
	}
}
