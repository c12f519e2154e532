package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/checks/result"
)

// What a hostile server sends (a reason phrase that retitles the window,
// clears the screen and reverses the text after it) reaches a terminal
// only as visible escapes: in the table's rows, its folded skip lines and
// the progress lines.
func TestTerminalWritersEscapeNetworkText(t *testing.T) {
	hostile := "401 \x1b]0;pwned\a\x1b[2J \u202eevil"
	results := []result.Result{
		{CheckID: "turn.udp", Target: "turn:198.51.100.7:3478 \x1b[31m", Status: result.Fail, Error: hostile},
		{CheckID: "browser.ice", Target: "a", Status: result.Skip, Error: hostile},
		{CheckID: "browser.interop", Target: "b", Status: result.Skip, Error: hostile},
	}
	var table, progress bytes.Buffer
	if err := WriteTable(&table, Report{Results: results}, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	p := NewProgress(&progress, len(results), false)
	for _, r := range results {
		p.Result(r)
	}
	for name, out := range map[string]string{"table": table.String(), "progress": progress.String()} {
		if strings.ContainsAny(out, "\x1b\a\u202e") {
			t.Errorf("%s prints control characters: %q", name, out)
		}
		if !strings.Contains(out, `\x1b]0;pwned\x07\x1b[2J \u202eevil`) {
			t.Errorf("%s does not show the escapes: %q", name, out)
		}
	}
	if !strings.Contains(table.String(), `2 browser.* checks skipped: 401 \x1b]0;pwned`) {
		t.Errorf("the folded line is not escaped: %q", table.String())
	}
}
