package conformance

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// binary is rtcprobe built for this test run: the tests that run inside a
// network namespace of their own run it there.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rtcprobe-conformance")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "rtcprobe")
	if out, err := exec.Command("go", "build", "-o", binary, "github.com/rtcprobe/rtcprobe/cmd/rtcprobe").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// binaryReport is the part of rtcprobe's JSON report the tests read.
type binaryReport struct {
	Checks []struct {
		ID      string             `json:"id"`
		Target  string             `json:"target"`
		Status  string             `json:"status"`
		Metrics map[string]float64 `json:"metrics"`
		Error   string             `json:"error"`
		Advice  string             `json:"advice"`
	} `json:"checks"`
}

// runBinary runs the built rtcprobe with args that include --json -.
func runBinary(t *testing.T, args ...string) binaryReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return parseReport(t, exec.CommandContext(ctx, binary, args...))
}

// parseReport runs cmd (rtcprobe with --json -) and reads its report; a
// failing exit code is fine, no report is not.
func parseReport(t testing.TB, cmd *exec.Cmd) binaryReport {
	t.Helper()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var rep binaryReport
	if jerr := json.Unmarshal(out, &rep); jerr != nil {
		t.Fatalf("rtcprobe: %v, report %v\n%s\n%s", err, jerr, out, stderr.String())
	}
	return rep
}
