package conformance

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// TestCoturnThroughProbe: the rows an exporter module fits, through the
// built binary's `rtcprobe serve` and /probe as Prometheus scrapes it: the
// same verdicts, the cause as the diagnosis-table row.
func TestCoturnThroughProbe(t *testing.T) {
	testenv.Heavy(t, "rtcprobe serve against coturn")
	tests := []struct {
		name   string
		cfg    coturn.Config
		module string
		want   []string // lines the answer must hold
	}{
		{name: "default", cfg: coturn.Config{User: "u", Password: "p"}, module: "turn_udp",
			want: []string{"probe_success 1"}},
		{name: "secure-stun, credentials from the module", cfg: coturn.Config{User: "u", Password: "p", Args: []string{"--secure-stun"}}, module: "stun_udp",
			want: []string{"probe_success 1"}},
		{name: "no-stun", cfg: coturn.Config{User: "u", Password: "p", Args: []string{"--no-stun"}}, module: "stun_udp",
			want: []string{"probe_success 0", `probe_check_diagnosis{check="stun.udp",decided="true",family="ipv4",rule="stun-turn-only",transport="udp"} 1`}},
		{name: "no-udp", cfg: coturn.Config{User: "u", Password: "p", NoUDP: true}, module: "stun_udp",
			want: []string{"probe_success 0", `rule="icmp-port"`}},
		{name: "wrong password", cfg: coturn.Config{User: "u", Password: "other"}, module: "turn_udp",
			want: []string{"probe_success 0", `decided="false"`, `rule="stun-401-credentials"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ct := coturn.Start(t, tc.cfg)
			cfg := filepath.Join(t.TempDir(), "rtcprobe.yml")
			yml := `version: 1
modules:
  stun_udp:
    checks: [stun.udp]
    credentials: {username: u, password: p}
    allowed_targets: ["127.0.0.1"]
  turn_udp:
    checks: [turn.udp]
    credentials: {username: u, password: p}
    options: {turn_packets: 5, turn_interval: 1ms, turn_ipv6: false}
    allowed_targets: ["127.0.0.1"]
`
			if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
				t.Fatal(err)
			}
			addr := startServe(t, "--config", cfg)
			scheme := "turn"
			if tc.module == "stun_udp" {
				scheme = "stun"
			}
			target := fmt.Sprintf("%s:127.0.0.1:%d", scheme, ct.Port)
			body := scrape(t, fmt.Sprintf("http://%s/probe?module=%s&target=%s", addr, tc.module, target))
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("/probe?module=%s for %s lacks %q:\n%s", tc.module, tc.name, w, body)
				}
			}
		})
	}
}

var listening = regexp.MustCompile(`msg=listening address=(\S+)`)

// startServe runs `rtcprobe serve` on a free loopback port and returns
// its address once it listens.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	args = append([]string{"serve", "--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "rtcprobe.db")}, args...)
	cmd := exec.Command(binary, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	log := &netlab.SyncBuffer{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr, exited := make(chan string, 1), make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			fmt.Fprintln(log, sc.Text())
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, pipe)
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("rtcprobe serve:\n%s", log.String())
		}
	})
	select {
	case a := <-addr:
		return a
	case <-exited:
		t.Fatalf("rtcprobe serve exited:\n%s", log.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("rtcprobe serve not listening after 30s:\n%s", log.String())
	}
	return ""
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s\n%s", url, resp.Status, b)
	}
	return string(b)
}
