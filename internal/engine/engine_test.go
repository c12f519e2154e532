package engine_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/turn/v5"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/internal/engine"
	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

func selection(t *testing.T, spec string) []config.Pattern {
	t.Helper()
	ps, err := config.ParseSelection(checks.Entries(checks.Catalog()), spec)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// TestRunThroughTheLibrary builds and runs a plan with no front end: with
// nothing named, the engine probes its embedded server and closes it.
func TestRunThroughTheLibrary(t *testing.T) {
	testenv.CheckGoroutines(t)
	r, err := engine.Prepare(engine.Input{Selection: selection(t, "stun,turn.udp,turn.tcp,nat"), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Embedded == nil {
		t.Fatal("no embedded server for a run that names nothing")
	}
	if r.Total() != 5 {
		t.Errorf("%d jobs, want 5: stun.udp, stun.tcp, turn.udp, turn.tcp, nat.behavior (no stuns: server for stun.tls)", r.Total())
	}
	rep := r.Execute(context.Background(), nil)
	r.Close()
	var ids []string
	for _, res := range rep.Results {
		ids = append(ids, res.CheckID)
		if res.Status != result.Pass && !res.OnlyTimingBroken() {
			t.Errorf("%s %s: %s %s", res.CheckID, res.Target, res.Status, res.Error)
		}
	}
	if want := []string{"stun.udp", "stun.tcp", "turn.udp", "turn.tcp", "nat.behavior"}; !slices.Equal(ids, want) {
		t.Errorf("results %q, want %q", ids, want)
	}
	if rep.Version != "test" || rep.FailOn != result.Fail || len(rep.Servers) == 0 {
		t.Errorf("report: version %q, fail on %q, servers %q", rep.Version, rep.FailOn, rep.Servers)
	}
}

// TestNothingToRunIsAnError: a selection that gives no check a subject
// says what each check would need, instead of passing with 0 checks.
func TestNothingToRunIsAnError(t *testing.T) {
	stun, err := probes.ParseServer("stun:127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		spec    string
		servers []probes.Server
		want    string
	}{
		{"turn", []probes.Server{stun}, "turn.udp, turn.tcp, turn.tls, turn.dtls need a turn: or turns: server"},
		{"signaling", nil, "signaling.websocket needs a signaling URL"},
		{"stun.tls", []probes.Server{stun}, "stun.tls needs a stuns: server"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			r, err := engine.Prepare(engine.Input{Selection: selection(t, tt.spec), Servers: tt.servers})
			var nothing *engine.NothingToRunError
			if !errors.As(err, &nothing) || !strings.Contains(err.Error(), tt.want) {
				if r != nil {
					r.Close()
				}
				t.Fatalf("error %v, want a NothingToRunError saying %q", err, tt.want)
			}
		})
	}
}

// TestSignalingOnlyRunProbesNoEmbeddedServer: a run that names only a
// signaling URL probes that URL, not an embedded server it did not ask for.
func TestSignalingOnlyRunProbesNoEmbeddedServer(t *testing.T) {
	u, err := probes.ParseWebSocketURL("ws://127.0.0.1:9/")
	if err != nil {
		t.Fatal(err)
	}
	r, err := engine.Prepare(engine.Input{Signaling: []*url.URL{u}, Selection: selection(t, "stun,signaling")})
	var nothing *engine.NothingToRunError
	if err == nil {
		defer r.Close()
		if r.Embedded != nil || len(r.Plan.Servers) != 0 {
			t.Errorf("embedded server started for a signaling-only run: %v", r.Plan.Servers)
		}
		if r.Total() != 1 {
			t.Errorf("%d jobs, want the signaling check only", r.Total())
		}
	} else if !errors.As(err, &nothing) {
		t.Fatal(err)
	}
}

// TestDedupeServers: a server named in the config and again by the front
// end with the same credentials is probed once; other credentials stay.
func TestDedupeServers(t *testing.T) {
	parse := func(uri, user, pw string) probes.Server {
		s, err := probes.ParseServer(uri)
		if err != nil {
			t.Fatal(err)
		}
		s.Username, s.Password = user, pw
		return s
	}
	cfg := &config.Config{Servers: []probes.Server{parse("stun:127.0.0.1:3478", "", ""), parse("turn:127.0.0.1:3478", "a", "1")}}
	r, err := engine.Prepare(engine.Input{Config: cfg, Selection: selection(t, "stun.udp"),
		Servers: []probes.Server{parse("stun:127.0.0.1:3478", "", ""), parse("turn:127.0.0.1:3478", "a", "2")}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if len(r.Plan.Servers) != 3 {
		t.Errorf("kept %d servers, want 3 (same URI with other credentials stays)", len(r.Plan.Servers))
	}
}

// TestRESTCredentialsMintedPerRun: a TURN REST secret is kept, and each
// run presents credentials minted when it starts, which pion/turn's own
// REST handler verifies.
func TestRESTCredentialsMintedPerRun(t *testing.T) {
	testenv.CheckGoroutines(t)
	const secret = "rest-secret-Qw3"
	var (
		mu    sync.Mutex
		names []string
	)
	verify := turn.LongTermTURNRESTAuthHandler(secret, nil)
	srv, err := iceserver.Start(iceserver.Config{AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
		mu.Lock()
		if !slices.Contains(names, ra.Username) {
			names = append(names, ra.Username)
		}
		mu.Unlock()
		return verify(ra)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	s, err := probes.ParseServer(fmt.Sprintf("turn:127.0.0.1:%d?transport=udp", srv.Port()))
	if err != nil {
		t.Fatal(err)
	}
	s.REST = &probes.RESTSecret{Secret: secret, User: "ci", TTL: time.Hour}
	start := time.Now().Truncate(time.Second)
	now := start
	r, err := engine.Prepare(engine.Input{Servers: []probes.Server{s}, Selection: selection(t, "turn.udp"), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if p := r.Plan.Servers[0]; p.Username != "" || p.Password != "" {
		t.Fatalf("credentials minted before the run: %q", p.Username)
	}
	for i, at := range []time.Time{start, start.Add(10 * time.Minute)} {
		now = at
		rep := r.Execute(context.Background(), nil)
		if res := rep.Results[0]; res.Status != result.Pass {
			t.Fatalf("run %d: %s %s", i, res.Status, res.Error)
		}
	}
	want := []string{strconv.FormatInt(start.Add(time.Hour).Unix(), 10) + ":ci", strconv.FormatInt(start.Add(70*time.Minute).Unix(), 10) + ":ci"}
	if !slices.Equal(names, want) {
		t.Errorf("usernames presented %q, want %q (one per run, minted at its start)", names, want)
	}
}

// TestBrowserTrustsTheEmbeddedServer: the browser of a run that probes the
// embedded server trusts that server's certificate as the probes do, so
// its turns: subjects run; a CA of the run's own cannot be handed to the
// browser, so then it does not trust what the run trusts.
func TestBrowserTrustsTheEmbeddedServer(t *testing.T) {
	ca, err := netlab.NewCert(time.Now().Add(time.Hour), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		tls  *tls.Config
		want bool
	}{
		{"system roots", nil, true},
		{"a CA file", &tls.Config{RootCAs: ca.Pool}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := engine.Prepare(engine.Input{Selection: selection(t, "browser.ice"), TLS: tt.tls})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Embedded == nil || len(r.Plan.Browsers) != 1 {
				t.Fatal("no embedded server or not one browser session")
			}
			if got := r.Plan.Browsers[0].Trusts(r.Plan.TLS.RootCAs); got != tt.want {
				t.Errorf("browser trusts the run's roots: %v, want %v", got, tt.want)
			}
		})
	}
}

// TestModuleRun runs a module as rtcprobe serve does: the module's checks
// and options only, against the target given, never the config's
// servers; the front end's embedded server is trusted and left running.
func TestModuleRun(t *testing.T) {
	testenv.CheckGoroutines(t)
	srv, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cfg, err := config.Parse("serve.yml", []byte(`
servers:
  - urls: stun:127.0.0.1:9
modules:
  turn_tls:
    checks: [turn.tls, stun]
    options: {turn_packets: 3}
    thresholds:
      turn.tls: {warn: alloc_ms < 60000}
    credentials: {username: "${U}", password: "${P}"}
    allowed_targets: ["127.0.0.1"]
`), config.Env{Catalog: checks.Entries(checks.Catalog()), LookupEnv: func(k string) (string, bool) {
		u, p := srv.Credentials()
		return map[string]string{"U": u, "P": p}[k], true
	}})
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Modules["turn_tls"]
	target, err := probes.ParseServer(fmt.Sprintf("turns:127.0.0.1:%d", srv.TLSPort()))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second run finds the embedded server still up
		r, err := engine.Prepare(engine.Input{Config: cfg, Module: m, Servers: []probes.Server{m.Credentials(target)}, Embedded: srv})
		if err != nil {
			t.Fatal(err)
		}
		rep := r.Execute(context.Background(), nil)
		r.Close()
		if len(rep.Results) != 1 {
			t.Fatalf("results %+v, want turn.tls only (stun has no stun: target; the config's server is not probed)", rep.Results)
		}
		res := rep.Results[0]
		if res.CheckID != "turn.tls" || res.Status != result.Pass || res.Metrics["packets_sent"] != 3 {
			t.Errorf("%s: %s %s, metrics %v", res.CheckID, res.Status, res.Error, res.Metrics)
		}
	}
}

// TestExclusiveChecksExtendTheDefaultDeadline: opt-in checks that run alone (load)
// run one at a time after the others, so the default run deadline grows
// by their deadlines; a deadline the user set stays as set.
func TestExclusiveChecksExtendTheDefaultDeadline(t *testing.T) {
	turnSrv, err := probes.ParseServer("turn:127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	servers := []probes.Server{turnSrv, turnSrv}
	servers[1].URI.Port = 10
	prepare := func(opts config.Layer) *engine.Run {
		r, err := engine.Prepare(engine.Input{Selection: selection(t, "load"), Servers: servers, Options: opts})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Close)
		return r
	}
	r := prepare(nil)
	if n := r.Total(); n != 2 {
		t.Fatalf("%d load jobs, want 2", n)
	}
	base, err := config.Layered(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Plan.Settings.Timeout, base.Timeout+r.Plan.OptInAloneTime(); got != want || r.Plan.OptInAloneTime() <= 0 {
		t.Errorf("run deadline %v, want the default %v + the load checks' %v", got, base.Timeout, r.Plan.OptInAloneTime())
	}
	set := prepare(config.Layer{{Option: config.LookupOption("timeout"), Text: "7s", Source: "flag"}})
	if got := set.Plan.Settings.Timeout; got != 7*time.Second {
		t.Errorf("run deadline %v with --timeout 7s", got)
	}
}
