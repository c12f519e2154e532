package conformance

import (
	"bytes"
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/report"
)

// run is one rtcprobe run as a user types it: the built binary with the
// checks named by ids against the URIs, --user/--password (or
// --turn-secret) for every server, and the JSON report read back.
type run struct {
	uris      []string
	user      string
	password  string
	secret    string // --turn-secret
	ids       string
	ca        string // --ca FILE
	packets   int
	timeout   time.Duration // --check-timeout
	signaling []string
	// args are more flags, as typed.
	args []string
}

// command is the rtcprobe command line for r, with --json - first.
func (r run) command() []string {
	args := []string{"--json", "-"}
	add := func(flag, value string) {
		if value != "" {
			args = append(args, flag, value)
		}
	}
	add("--checks", r.ids)
	add("--user", r.user)
	add("--password", r.password)
	add("--turn-secret", r.secret)
	add("--ca", r.ca)
	if r.packets > 0 {
		add("--turn-packets", strconv.Itoa(r.packets))
	}
	if r.timeout > 0 {
		add("--check-timeout", r.timeout.String())
	}
	for _, s := range r.signaling {
		add("--signaling", s)
	}
	args = append(args, r.args...)
	return append(args, r.uris...)
}

// do runs r and returns its results.
func (r run) do(t *testing.T) []checks.Result {
	t.Helper()
	return r.report(t, time.Minute).Results
}

// iterations runs r with --repeat n and returns each iteration's results.
func (r run) iterations(t *testing.T, n int) [][]checks.Result {
	t.Helper()
	r.args = append(r.args, "--repeat", strconv.Itoa(n))
	rep := r.report(t, time.Duration(n)*time.Minute)
	if rep.Repeat == nil || len(rep.Repeat.Iterations) != n {
		t.Fatalf("--repeat %d: the report holds no %d iterations", n, n)
	}
	var out [][]checks.Result
	for _, it := range rep.Repeat.Iterations {
		out = append(out, it.Results)
	}
	return out
}

// report runs the binary and reads its JSON report; a failing exit code is
// fine, no report is not.
func (r run) report(t *testing.T, limit time.Duration) report.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, r.command()...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	rep, rerr := report.ReadJSON(bytes.NewReader(out))
	if rerr != nil {
		t.Fatalf("rtcprobe %s: %v, report: %v\n%s\n%s", strings.Join(r.command(), " "), err, rerr, out, stderr.String())
	}
	return rep
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
	for _, o := range r.Observations {
		b.WriteString("  observed: " + o.Step + " " + o.Transport + " " + string(o.Outcome) + " " + o.Reason + " " + o.Note + "\n")
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
