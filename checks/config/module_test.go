package config_test

import (
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/probes"
)

func TestModulesParsed(t *testing.T) {
	cfg, err := parseTestConfig(t, "testdata/config/valid-modules.yml")
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Modules["turn_udp"]
	if m == nil || m.Where != "valid-modules.yml:4" || m.MaxConcurrent != 4 || m.Username != "alice" || m.Password != testEnv["TURN_PASSWORD"] {
		t.Fatalf("turn_udp: %+v", m)
	}
	res, err := checks.Resolve(checks.Catalog(), m.Config(), m.Name)
	if err != nil {
		t.Fatal(err)
	}
	if ids := checkIDs(res.Checks); !slices.Equal(ids, []string{"turn.udp"}) {
		t.Errorf("module runs %v, want turn.udp", ids)
	}
	s, err := config.Layered(res.Layers...)
	if err != nil || s.Timeout != 10*time.Second || s.TURNPackets != 5 || s.FailOn != result.Warn {
		t.Errorf("settings %+v, %v", s, err)
	}
	if ts := res.Thresholds["turn.udp"]; !slices.ContainsFunc(ts, func(th result.Threshold) bool { return th.String() == "alloc_ms < 200" }) {
		t.Errorf("module threshold not in force: %v", ts)
	}
	rest := cfg.Modules["turn_rest"]
	if rest.REST == nil || rest.REST.User != "prober" || rest.REST.TTL != 10*time.Minute || rest.Password != "" {
		t.Errorf("turn_rest: %+v", rest)
	}
	srv, _ := probes.ParseServer("turn:turn.example.com")
	if got := rest.Credentials(srv); got.REST != rest.REST {
		t.Errorf("credentials not given: %+v", got)
	}
	stun, _ := probes.ParseServer("stun:turn.example.com")
	if got := m.Credentials(stun); got.Username != "" {
		t.Errorf("a stun: server got credentials")
	}
}

func TestAllowRules(t *testing.T) {
	server := func(raw string) config.TargetParts {
		s, err := probes.ParseServer(raw)
		if err != nil {
			t.Fatal(err)
		}
		return config.ServerTargetParts(s)
	}
	ws := func(raw string) config.TargetParts {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		return config.URLEndpoint(u)
	}
	tests := []struct {
		rule   string
		target config.TargetParts
		want   bool
	}{
		{"*", server("turn:anything.example:1"), true},
		{"turn.example.com", server("turn:TURN.example.com:5349"), true},
		{"turn.example.com", server("turn:evil-turn.example.com"), false},
		{"turn.example.com", server("turn:turn.example.com.evil.net"), false},
		{"*.example.com", server("stun:a.b.example.com"), true},
		{"*.example.com", server("stun:example.com"), false},
		{"10.0.0.0/8", server("turn:10.1.2.3:3478"), true},
		{"10.0.0.0/8", server("turn:11.1.2.3:3478"), false},
		{"10.0.0.0/8", server("turn:ten.example.com"), false}, // names are never resolved
		{"::1/128", server("turn:[::1]:3478"), true},
		{"[::1]:3478", server("turn:[::1]:3478"), true},
		{"[::1]:3478", server("turn:[::1]:3479"), false},
		{"192.0.2.7:3478", server("turns:192.0.2.7:3478"), true},
		{"192.0.2.7", server("stun:192.0.2.70"), false},
		{"turn:h.example", server("turn:h.example:3478"), true}, // default port written out
		{"turn:h.example", server("turns:h.example:3478"), false},
		{"turns:*.example.org:443?transport=tcp", server("turns:edge.example.org:443?transport=tcp"), true},
		{"turns:*.example.org:443?transport=tcp", server("turns:edge.example.org:443"), false},
		{"turn:*.example.com:*", server("turn:x.example.com:3478?transport=udp"), true},
		{"wss://signal.example.com/*", ws("wss://signal.example.com/ws?token=x"), true},
		{"wss://signal.example.com/*", ws("ws://signal.example.com/ws"), false},
		{"signal.example.com:443", ws("wss://signal.example.com/ws"), true},
		// Each part is matched on its own: a glob never spans host and path.
		{"ws://*.example.org/*", ws("ws://127.0.0.1:24001/.example.org/"), false},
		{"ws://*.example.org/*", ws("ws://a.example.org/x"), true},
		{"ws://*.example.org/*", ws("ws://a.example.org:8080/x"), false}, // default port 80
		{"ws://*.example.org:*/*", ws("ws://a.example.org:8080/x"), true},
		{"wss://signal.example.com", ws("wss://signal.example.com/"), true},
		{"wss://signal.example.com", ws("wss://signal.example.com/admin"), false},
		{"WSS://Signal.Example.com/ws", ws("wss://signal.example.com/ws"), true},
		{"turn:*.example.org", server("turn:a.example.org"), true}, // default port
		{"turn:*.example.org", server("turn:a.example.org:3479"), false},
		{"turn:*.example.org:*", server("turn:127.0.0.1:1?transport=tcp"), false},
		{"turn:*:3478", server("turn:127.0.0.1"), true},
		{"turn:[::1]:3478", server("turn:[::1]:3478"), true},
	}
	for _, tt := range tests {
		r, err := config.ParseAllowRule(tt.rule)
		if err != nil {
			t.Errorf("%q: %v", tt.rule, err)
			continue
		}
		if got := r.Allows(tt.target); got != tt.want {
			t.Errorf("rule %q on %+v: %v, want %v", tt.rule, tt.target, got, tt.want)
		}
	}
	for _, rule := range []string{"ws://h.example/?q=*", "turn:h.example/x", "turn:h.example?transport=*", "turn://h.example", "turn:h.example:0", "turn:2001:db8::1", "ws://h$.example/"} {
		if _, err := config.ParseAllowRule(rule); err == nil {
			t.Errorf("rule %q accepted", rule)
		}
	}
	if got := ws("wss://signal.example.com/ws?token=secret").URI; got != "wss://signal.example.com/ws" {
		t.Errorf("endpoint URI %q keeps the query", got)
	}
}
