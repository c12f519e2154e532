package testenv

import (
	"os/exec"
	"strings"
	"testing"
)

// TestProductLinksNoTestkit: the programs link nothing from
// internal/testkit, so what sits there is only ever the tests' (fixtures,
// third-party servers, labs) and can be read as such.
func TestProductLinksNoTestkit(t *testing.T) {
	for _, cmd := range []string{"rtcprobe", "rtcprobe-serve"} {
		for _, p := range deps(t, cmd) {
			if strings.HasPrefix(p, "github.com/rtcprobe/rtcprobe/internal/testkit/") {
				t.Errorf("cmd/%s links %s", cmd, p)
			}
		}
	}
}

// TestCLILinksNoServerLibraries: rtcprobe itself links none of what only
// rtcprobe-serve needs. Go initialises every package a program links at
// its start: with the Prometheus client, the exporter toolkit and the
// database drivers linked, `rtcprobe --version` cost twice the CPU.
func TestCLILinksNoServerLibraries(t *testing.T) {
	serverOnly := []string{
		"github.com/prometheus/", "github.com/jackc/pgx", "modernc.org/sqlite",
		"github.com/rtcprobe/rtcprobe/internal/serve", "github.com/rtcprobe/rtcprobe/internal/store",
	}
	cli := deps(t, "rtcprobe")
	for _, p := range cli {
		for _, s := range serverOnly {
			if strings.HasPrefix(p, s) {
				t.Errorf("cmd/rtcprobe links %s (rtcprobe-serve's)", p)
			}
		}
	}
	server := strings.Join(deps(t, "rtcprobe-serve"), "\n")
	for _, s := range serverOnly {
		if !strings.Contains(server, s) {
			t.Errorf("cmd/rtcprobe-serve links nothing under %s: the list above is stale", s)
		}
	}
}

func deps(t *testing.T, cmd string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "github.com/rtcprobe/rtcprobe/cmd/"+cmd).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	return strings.Fields(string(out))
}
