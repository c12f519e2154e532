package main

import (
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
)

// TestServeSIGTERMClosesHeldConnections: 50 connections held open with
// unfinished headers, and with bodies that stop short (to a route that
// reads its body, to health, which does not, and to no route at all),
// once made SIGTERM wait the whole drain timeout and exit 3 saying probes
// were in flight when none was. No request is being served, so serve
// closes them and exits 0 at once.
func TestServeSIGTERMClosesHeldConnections(t *testing.T) {
	p := startServe(t, nil)
	for i := range 50 {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 5, byte(1+i%10))}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		switch i % 4 {
		case 0:
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nX-Unfinished: ", p.addr)
		case 1:
			fmt.Fprintf(c, "POST /api/precall/session HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", p.addr)
		case 2:
			fmt.Fprintf(c, "POST /-/healthy HTTP/1.1\r\nHost: %s\r\nContent-Length: 1000\r\n\r\nx", p.addr)
		case 3:
			fmt.Fprintf(c, "PUT /nosuch HTTP/1.1\r\nHost: %s\r\nContent-Length: 1000\r\n\r\nx", p.addr)
		}
	}
	time.Sleep(500 * time.Millisecond) // every request has reached the server
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := p.wait(t, 40*time.Second)
	took := time.Since(start)
	log := p.stderr.String()
	if code != 0 || took > 10*time.Second {
		t.Errorf("exit %d %s after SIGTERM, want 0 within 10 s (the drain timeout is 30 s)", code, took.Round(time.Millisecond))
	}
	if strings.Contains(log, "probes still in flight") || strings.Contains(log, "drain incomplete") {
		t.Errorf("the log claims an incomplete drain:\n%s", log)
	}
	t.Logf("exit %d after %s", code, took.Round(time.Millisecond))
}

// TestServeDrainTimeoutNamesWhatItWaitedFor: a probe that outlasts
// --drain-timeout is cancelled, serve exits 3, and the log names the
// request it waited for, beside the connections held with nothing being
// served (closed, not counted).
func TestServeDrainTimeoutNamesWhatItWaitedFor(t *testing.T) {
	silent := netlab.SilentUDP(t)
	cfg := writeConfig(t, fmt.Sprintf(`modules:
  slow:
    checks: [stun.udp]
    check_timeout: 20s
    timeout: 30s
    allowed_targets: [%q]
`, silent))
	p := startServe(t, nil, "--config", cfg, "--drain-timeout", "1s")
	for range 5 {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nX-Unfinished: ", p.addr)
	}
	go func() {
		resp, err := http.Get("http://" + p.addr + probePath("slow", "stun:"+silent))
		if err == nil {
			resp.Body.Close()
		}
	}()
	p.waitFor(t, "/metrics", regexp.MustCompile(`(?m)^rtcprobe_probes_in_flight\{module="slow"\} 1$`))
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 20*time.Second); code != 3 {
		t.Errorf("exit %d, want 3", code)
	}
	log := p.stderr.String()
	if !strings.Contains(log, "drain timed out: 1 requests still being served on 1 connections") {
		t.Errorf("the log does not name the request waited for:\n%s", log)
	}
}
