package testenv

import (
	"os/exec"
	"strings"
	"testing"
)

// TestProductLinksNoTestkit: the binary links nothing from
// internal/testkit, so what sits there is only ever the tests' (fixtures,
// third-party servers, labs) and can be read as such.
func TestProductLinksNoTestkit(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/rtcprobe/rtcprobe/cmd/rtcprobe").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/rtcprobe/rtcprobe/internal/testkit/") {
			t.Errorf("cmd/rtcprobe links %s", p)
		}
	}
}
