package result_test

import (
	"os/exec"
	"strings"
	"testing"
)

// What only renders, stores or serves results must not link the
// catalogue, and with it the browser driver: that is why this package
// and checks/config sit below checks.
func TestReadersDoNotLinkTheBrowser(t *testing.T) {
	const mod = "github.com/rtcprobe/rtcprobe/"
	readers := []string{mod + "report", mod + "internal/store", mod + "internal/serve", mod + "checks/config"}
	out, err := exec.Command("go", append([]string{"list", "-deps"}, readers...)...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/chromedp/") || p == mod+"browser" || p == mod+"checks" {
			t.Errorf("%s is among the dependencies of %s", p, strings.Join(readers, ", "))
		}
	}
}
