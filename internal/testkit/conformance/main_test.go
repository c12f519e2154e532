package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

// binary is rtcprobe built for this test run: the tests that run inside a
// network namespace of their own run it there.
var binary string

func TestMain(m *testing.M) {
	var (
		cleanup func()
		err     error
	)
	if binary, cleanup, err = testenv.Binary(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	cleanup()
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
		Series  []json.RawMessage  `json:"series"`
		checkRecord
	} `json:"checks"`
}

// checkRecord is what a result shows besides its figures: evidence and
// the steps observed.
type checkRecord struct {
	Evidence []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"evidence"`
	Observations []probes.Observation `json:"observations"`
}

// evidence is the first evidence of that name ("" when none).
func (r checkRecord) evidence(name string) string {
	for _, e := range r.Evidence {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// observation is the first observed step of that name.
func (r checkRecord) observation(step string) *probes.Observation {
	for i, o := range r.Observations {
		if o.Step == step {
			return &r.Observations[i]
		}
	}
	return nil
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
