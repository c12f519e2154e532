package browser

import (
	"io/fs"
	"regexp"
	"slices"
	"testing"
)

// TestPageChecksAreThePage: the table of page checks names exactly the
// functions pages/rtcprobe.js defines: a check added on one side only
// fails here, not in a user's browser.
func TestPageChecksAreThePage(t *testing.T) {
	js, err := fs.ReadFile(Pages(), "rtcprobe.js")
	if err != nil {
		t.Fatal(err)
	}
	var page []string
	for _, m := range regexp.MustCompile(`(?m)^\s*checks\.(\w+)\s*=`).FindAllSubmatch(js, -1) {
		page = append(page, string(m[1]))
	}
	if len(page) == 0 {
		t.Fatal("no checks.NAME = … in rtcprobe.js: the pattern no longer matches the page")
	}
	var table []string
	for _, c := range PageChecks() {
		table = append(table, c.Name)
	}
	for _, n := range page {
		if !slices.Contains(table, n) {
			t.Errorf("rtcprobe.js defines checks.%s, which PageChecks lacks", n)
		}
	}
	for _, n := range table {
		if !slices.Contains(page, n) {
			t.Errorf("PageChecks names %q, which rtcprobe.js does not define", n)
		}
	}
}
