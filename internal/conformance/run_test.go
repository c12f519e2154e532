package conformance

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/probes"
)

// run is one rtcprobe run through the engine: the checks named by ids
// against the URIs, with user/password for every server.
type run struct {
	uris     []string
	user     string
	password string
	ids      string
	tls      *tls.Config
	packets  int
	timeout  time.Duration
	plan     func(*checks.Plan)
}

func (r run) do(t *testing.T) []checks.Result {
	t.Helper()
	patterns, err := checks.ParseSelection(checks.Catalog(), r.ids)
	if err != nil {
		t.Fatal(err)
	}
	p := &checks.Plan{Checks: checks.Select(checks.Catalog(), patterns), TLS: r.tls,
		Settings: checks.Settings{Timeout: 30 * time.Second, TURNPackets: r.packets, CheckTimeout: r.timeout}}
	for _, raw := range r.uris {
		s, err := probes.ParseServer(raw)
		if err != nil {
			t.Fatal(err)
		}
		s.Username, s.Password = r.user, r.password
		p.Servers = append(p.Servers, s)
	}
	if r.plan != nil {
		r.plan(p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return checks.Run(ctx, p, nil)
}

// result finds the one result of check id, failing the test without it.
func result(t *testing.T, rs []checks.Result, id string) checks.Result {
	t.Helper()
	for _, r := range rs {
		if r.CheckID == id {
			return r
		}
	}
	t.Fatalf("no %s result among %s", id, describe(rs))
	return checks.Result{}
}

// want asserts a result's status and that its error and advice contain
// every key word (case-insensitive), and that they contain none of the
// words of a wrong cause. Whatever the server sent, no control character
// (coturn pads its reason phrases with NULs) reaches the result.
func want(t *testing.T, r checks.Result, status checks.Status, words []string, not ...string) {
	t.Helper()
	texts := []string{r.Target, r.Error, r.Advice}
	for _, e := range r.Evidence {
		texts = append(texts, e.Name, e.Value)
	}
	for _, s := range texts {
		if i := strings.IndexFunc(s, func(c rune) bool { return c < 0x20 || c == 0x7f }); i >= 0 {
			t.Errorf("%s %s: control character %q in %q", r.CheckID, r.Target, s[i], s)
		}
	}
	text := strings.ToLower(r.Error + " | " + r.Advice)
	if r.Status != status {
		t.Errorf("%s %s: status %s, want %s\n%s", r.CheckID, r.Target, r.Status, status, show(r))
	}
	for _, w := range words {
		if !strings.Contains(text, strings.ToLower(w)) {
			t.Errorf("%s %s: %q missing\n%s", r.CheckID, r.Target, w, show(r))
		}
	}
	for _, w := range not {
		if strings.Contains(text, strings.ToLower(w)) {
			t.Errorf("%s %s: wrong cause %q\n%s", r.CheckID, r.Target, w, show(r))
		}
	}
}

func show(r checks.Result) string {
	var b strings.Builder
	b.WriteString("  status: " + string(r.Status) + "\n  error: " + r.Error + "\n  advice: " + r.Advice + "\n")
	for _, e := range r.Evidence {
		b.WriteString("  " + e.Name + ": " + e.Value + "\n")
	}
	return b.String()
}

func describe(rs []checks.Result) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, r.CheckID+" "+r.Target+" "+string(r.Status))
	}
	return strings.Join(parts, ", ")
}

func evidence(r checks.Result, name string) string {
	for _, e := range r.Evidence {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}
