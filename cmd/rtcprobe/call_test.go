package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

func TestBadSimulateSpecExits2(t *testing.T) {
	for _, tc := range []struct{ spec, names string }{
		{"delay=50ms,colour=blue", `"colour=blue"`},
		{"delay=-5ms", `"delay=-5ms"`},
		{"loss=120%", `"loss=120%"`},
		{"nat=carrier", `"nat=carrier"`},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"--simulate", tc.spec}, &stdout, &stderr)
		if code != exitUsage {
			t.Errorf("--simulate %q: exit %d, want %d", tc.spec, code, exitUsage)
		}
		if !strings.Contains(stderr.String(), tc.names) {
			t.Errorf("--simulate %q: stderr %q does not name %s", tc.spec, stderr.String(), tc.names)
		}
	}
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"--media-duration", "10ms"}, &bytes.Buffer{}, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "--media-duration") {
		t.Errorf("--media-duration 10ms: exit %d, stderr %q", code, stderr.String())
	}
}

// TestStatsFile runs the call checks against a TURN server with a known
// credential with --stats and checks the file: JSON lines from both
// peers, RTP statistics for the media streams, and the credential
// nowhere.
func TestStatsFile(t *testing.T) {
	testenv.CheckGoroutines(t)
	const password = "pw-stats-4e1d-never-in-output"
	addr := startServer(t, iceserver.Config{AuthHandler: staticOrREST("alice", password, "unused-rest-secret")}).Servers()[0].Addr()
	t.Setenv("RTCPROBE_TURN_PASSWORD", password)
	path := filepath.Join(t.TempDir(), "stats.jsonl")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--checks", "ice.all,media.audio", "--media-duration", "2s", "--stats", path, "--json", "-",
		"--user", "alice", "stun:" + addr, "turn:" + addr}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s %s", code, stdout.String(), stderr.String())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	peers := map[string]int{}
	withRTP := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<22)
	for sc.Scan() {
		var rec struct {
			At     time.Time      `json:"at"`
			Check  string         `json:"check"`
			Peer   string         `json:"peer"`
			Report map[string]any `json:"report"`
			RTP    map[string]any `json:"rtp"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line is not JSON: %v", err)
		}
		if rec.At.IsZero() || len(rec.Report) == 0 {
			t.Errorf("record without time or report: %.200s", sc.Text())
		}
		peers[rec.Check+"/"+rec.Peer]++
		if rec.Check == "media.audio" && len(rec.RTP) > 0 {
			withRTP++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	// One sample a second during 2 s of media plus the final one.
	if peers["media.audio/offerer"] < 2 || peers["media.audio/answerer"] < 2 || peers["ice.all/offerer"] != 1 {
		t.Errorf("records per check and peer: %v", peers)
	}
	if withRTP == 0 {
		t.Error("no media record carries RTP statistics")
	}
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, []byte(password)) || strings.Contains(stdout.String()+stderr.String(), password) {
		t.Error("the TURN credential appears in the stats file or the output")
	}
	// The peers used the relay too: the credential was in play.
	if !bytes.Contains(raw, []byte(`"relay"`)) {
		t.Error("no relay candidate in the stats: the credential was not used")
	}
}

// TestInterruptTearsDown cancels a run mid-media, as Ctrl-C does: the run
// must end promptly and leave no goroutine behind.
func TestInterruptTearsDown(t *testing.T) {
	testenv.CheckGoroutines(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(1500*time.Millisecond, cancel)
	start := time.Now()
	var stdout, stderr bytes.Buffer
	run(ctx, []string{"--checks", "media,datachannel", "--media-duration", "30s", "--json", "-"}, &stdout, &stderr)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the run took %s after an interrupt at 1.5s", took)
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr %q does not say the run was interrupted", stderr.String())
	}
}
