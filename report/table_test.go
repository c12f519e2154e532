package report

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/result"
)

// skipsFixture is a run where several skips share a cause: a missing
// browser (one group), one check's subjects (one ID), two groups at
// once; and a skip with a cause of its own.
func skipsFixture() Report {
	noBrowser := "unsupported: no Chrome/Chromium found (looked for chromium, google-chrome)"
	noBrowserAdvice := "No browser to drive: install Chromium (Debian/Ubuntu: apt-get install chromium)."
	r := Report{Version: "v1.2.3", StartedAt: clock, Duration: 1500 * time.Millisecond}
	add := func(id, target string, st result.Status, err, advice string) {
		r.Results = append(r.Results, result.Result{CheckID: id, Title: id, Target: target, Status: st, Error: err, Advice: advice})
	}
	add("stun.udp", "stun:127.0.0.1:3478", result.Pass, "", "")
	for _, id := range []string{"browser.api", "browser.devices", "browser.codecs"} {
		add(id, "browser", result.Skip, noBrowser, noBrowserAdvice)
	}
	add("stun.tls", "(no stuns: server)", result.Skip, "unsupported: no TLS server configured", "")
	add("turn.tls", "(no turns: server)", result.Skip, "unsupported: no TLS server configured", "")
	for _, target := range []string{"turns:127.0.0.1:5349", "turns:127.0.0.2:5349"} {
		add("browser.ice", target, result.Skip, "unsupported: the browser trusts only the system's certificate authorities", "")
	}
	add("turn.dtls", "turns:127.0.0.1:5349?transport=udp", result.Skip, "unsupported: DTLS needs a turns: server", "")
	return r
}

// Skips that share a cause become one line each under the table; a skip
// with a cause of its own keeps its row.
func TestTableFoldsSkips(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, skipsFixture(), TableOptions{}); err != nil {
		t.Fatal(err)
	}
	compareGolden(t, filepath.Join("testdata", "golden", "skips", "report.txt"), buf.Bytes())
	out := buf.String()
	for _, want := range []string{
		"3 browser.* checks skipped: unsupported: no Chrome/Chromium found (looked for chromium, google-chrome) → No browser to drive",
		"2 checks (stun.tls, turn.tls) skipped: unsupported: no TLS server configured\n",
		"2 browser.ice checks skipped: unsupported: the browser trusts only",
		"│ turn.dtls ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "│ browser.api") || strings.Contains(out, "│ browser.ice") {
		t.Errorf("a folded skip kept its row:\n%s", out)
	}
	if !strings.HasSuffix(out, "9 checks: 1 pass, 8 skip — PASS in 1.5s\n") {
		t.Errorf("the summary does not count every result:\n%s", out)
	}
}

// When every result folds, no empty table is drawn.
func TestTableAllSkipsFolded(t *testing.T) {
	r := skipsFixture()
	r.Results = r.Results[1:4]
	var buf bytes.Buffer
	if err := WriteTable(&buf, r, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "3 browser.* checks skipped: ") || !strings.HasPrefix(lines[1], "3 checks: 3 skip") {
		t.Errorf("want the folded line and the summary only:\n%s", buf.String())
	}
}
