package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/internal/fanout"
	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// TestMetricContract runs every check of the catalogue once, through the
// built binary as a user runs it, and holds each to its declared metrics
// (checks/contract.go): a result reports no metric its check does not
// declare (else a threshold on it is refused, and rtcprobe list and the
// README do not name it), and the results that ran to the end report
// every declared metric but those the check names as Sometimes.
//
// Three runs: the embedded STUN/TURN server (stun, turn, ice, media,
// datachannel, firewall, nat), the embedded fan-out WHIP/WHEP server
// (whip, whep, broadcast), a ws:// echo (signaling), TURN load, every
// browser check and the interop matrix in Chromium and Firefox (each
// engine reports its own metrics), and stuns: on the embedded server's
// TLS port, the audit of the embedded server and a coturn's expired REST
// credentials. Not covered: the metrics the pre-call page reports
// (rtcprobe serve), declared as Sometimes where only it reports them.
func TestMetricContract(t *testing.T) {
	testenv.Heavy(t, "Chromium, Firefox and every check")
	for _, b := range []string{"chromium", "firefox"} {
		if _, _, err := browser.Locate(b); err != nil {
			testenv.Unavailable(t, "%v (%s)", err, browser.HintFor(browser.Engine(b)))
		}
	}
	netlab.DefaultRoute(t) // Firefox gathers no ICE candidates without one

	fan, err := fanout.Start(fanout.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fan.Close() })
	echo := httptest.NewServer(websocket.Server{Handler: func(c *websocket.Conn) { _, _ = io.Copy(c, c) }})
	t.Cleanup(echo.Close)

	byID := map[string][]reportCheck{}
	// The embedded STUN/TURN server, and the fan-out for broadcast.
	for _, r := range contractRun(t, "--checks", "*,load,interop", "--browsers", "chromium,firefox",
		"--media-duration", "2s", "--viewers", "2", "--calls", "4", "--load-duration", "1s") {
		byID[r.ID] = append(byID[r.ID], r)
	}
	// URLs name targets: then the embedded server does not start.
	for _, r := range contractRun(t, "--checks", "whip,whep,broadcast,signaling",
		"--whip", fan.WHIP("contract").String(), "--whep", fan.WHEP("contract").String(),
		"--signaling", "ws"+strings.TrimPrefix(echo.URL, "http")+"/",
		"--media-duration", "2s", "--viewers", "2") {
		byID[r.ID] = append(byID[r.ID], r)
	}
	// The default run names no stuns: server: the embedded server's TLS
	// port answers Binding requests too.
	emb, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	for _, r := range contractRun(t, "--checks", "stun.tls", "--insecure", fmt.Sprintf("stuns:127.0.0.1:%d", emb.TLSPort())) {
		byID[r.ID] = append(byID[r.ID], r)
	}
	// The audit, of the embedded server, and of a coturn that takes TURN
	// REST credentials (the expired-credentials row needs the secret).
	for _, r := range contractRun(t, "--checks", "audit") {
		byID[r.ID] = append(byID[r.ID], r)
	}
	rest := coturn.Start(t, coturn.Config{AuthSecret: "contract-secret"})
	for _, r := range contractRun(t, "--checks", "audit.rest", "--turn-secret", "contract-secret", rest.URI("turn", "127.0.0.1", rest.Port)) {
		byID[r.ID] = append(byID[r.ID], r)
	}
	for _, c := range checks.Catalog() {
		results := byID[c.ID]
		if len(results) == 0 {
			t.Errorf("%s did not run: the contract is not checked for it", c.ID)
			continue
		}
		var ended []map[string]float64
		for _, r := range results {
			if bad := c.Undeclared(r.Metrics); len(bad) > 0 {
				t.Errorf("%s (%s) reports metrics it does not declare: %s", c.ID, r.Status, strings.Join(bad, ", "))
			}
			if r.Status == "pass" || r.Status == "warn" {
				ended = append(ended, r.Metrics)
			}
		}
		if len(ended) == 0 {
			t.Errorf("no result of %s ran to the end (%s: %s): what it reports is not checked", c.ID, results[0].Status, results[0].Error)
			continue
		}
		if missing := c.Unreported(ended...); len(missing) > 0 {
			t.Errorf("%s declares metrics none of its %d results that ran to the end reports (list them in Sometimes, with when): %s",
				c.ID, len(ended), strings.Join(missing, ", "))
		}
	}
}

// contractRun runs the binary with args and returns its report's checks.
func contractRun(t *testing.T, args ...string) []reportCheck {
	t.Helper()
	report := filepath.Join(t.TempDir(), "report.json")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"--json", report, "--no-color", "--timeout", "5m"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("rtcprobe %s (%v)\n%s", strings.Join(cmd.Args[1:], " "), err, out.String())
	raw, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("no JSON report: %v", err)
	}
	var rep struct {
		Checks []reportCheck `json:"checks"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	return rep.Checks
}

// TestThresholdOnReportedMetric: a threshold on a metric a check reports
// is accepted through rtcprobe validate (the metric contract keeps the
// declared lists whole): media.audio's fastest RTCP round trip, which
// the README's accuracy table leads with, and the relay candidates
// whip.publish counts. A metric no check reports is still refused.
func TestThresholdOnReportedMetric(t *testing.T) {
	good := writeConfig(t, "thresholds:\n  media.audio:\n    warn: rtt_min_ms < 50\n  whip.publish:\n    fail: candidates_relay >= 1\n")
	if res := rtcprobe(t, "validate", "--config", good); res.code != exitOK || !strings.Contains(res.stdout, "thresholds changed for 2 checks") {
		t.Errorf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	bad := writeConfig(t, "thresholds:\n  media.audio:\n    warn: rtt_fastest_ms < 50\n")
	if res := rtcprobe(t, "validate", "--config", bad); res.code != exitUsage || !strings.Contains(res.stderr, `metric "rtt_fastest_ms" is not reported by media.audio`) {
		t.Errorf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}

// TestListPrintsDeclaredMetrics: rtcprobe list prints each check's
// declared metrics, those reported only sometimes with when, from the
// catalogue that the README's checks table is generated from.
func TestListPrintsDeclaredMetrics(t *testing.T) {
	res := rtcprobe(t, "list")
	if res.code != exitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	for _, c := range checks.Catalog() {
		want := "\n" + c.ID + "  " + c.Title
		_, after, ok := strings.Cut(res.stdout, want)
		if !ok {
			t.Errorf("list lacks %q", want)
			continue
		}
		block, _, _ := strings.Cut(after, "\n\n")
		if line := "    metrics:    " + c.MetricsText(func(name string) string { return name }) + "\n"; !strings.Contains(block+"\n", line) {
			t.Errorf("list's %s lacks %q:\n%s", c.ID, line, block)
		}
	}
	if !strings.Contains(res.stdout, "rtt_min_ms") || !strings.Contains(res.stdout, "connect_ms (over TCP and TLS)") {
		t.Errorf("list lacks media.audio's rtt_min_ms or stun's conditional connect_ms")
	}
}
