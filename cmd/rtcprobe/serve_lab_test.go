package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
)

// TestPrometheusUDPBlockedLab: the TURN server sits in a namespace whose
// firewall drops UDP. Prometheus, scraping rtcprobe serve every second,
// records probe_success 0 for turn_udp and 1 for turn_tcp, and the debug
// output says why.
func TestPrometheusUDPBlockedLab(t *testing.T) {
	t.Parallel() // waits on its own servers: beside the others of its kind, after the timed tests
	server, _, addr := netlab.Peer(t, "srv")
	server.Run(t, "ip", "addr", "add", netlab.CIDR(strings.TrimSuffix(addr, ".2")+".3", 24), "dev", "eth0")
	cert, err := netlab.NewCert(time.Now().Add(24*time.Hour), addr)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, _, err := cert.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := server.Command(t.Context(), self, "-test.run=^TestLabProcess$")
	cmd.Env = netlab.Env(labRole+"=server", labAddr+"="+addr, labAlt+"="+strings.TrimSuffix(addr, ".2")+".3", labCert+"="+certFile, labKey+"="+keyFile)
	netlab.StartProcess(t, cmd, 60*time.Second)
	server.IPTables(t, "-A INPUT -i eth0 -p udp -j DROP")

	cfg := writeConfig(t, fmt.Sprintf(`modules:
  turn_udp: &turn
    checks: [turn.udp]
    options: {turn_packets: 5, turn_interval: 1ms}
    credentials: {username: lab, password: lab-password}
    allowed_targets: [%q]
  turn_tcp:
    <<: *turn
    checks: [turn.tcp]
`, addr))
	srv := startServe(t, nil, "--config", cfg)
	target := "turn:" + addr + ":3478"
	prom := startPrometheus(t, srv.addr, []scrapeJob{{"turn_udp", []string{target}}, {"turn_tcp", []string{target}}})
	prom.waitSeries(t, `probe_success{job="turn_udp"}`, []string{target}, "0")
	prom.waitSeries(t, `probe_success{job="turn_tcp"}`, []string{target}, "1")
	prom.waitSeries(t, `probe_check_status{job="turn_udp",check="turn.udp",status="fail"}`, []string{target}, "1")
	prom.waitSeries(t, `probe_turn_rtt_median_seconds{job="turn_tcp",transport="tcp"} > 0`, []string{target}, "")

	_, debug := srv.get(t, probePath("turn_udp", target)+"&debug=true", "X-Prometheus-Scrape-Timeout-Seconds", "1")
	if !strings.Contains(debug, "FAIL turn.udp "+target) || !strings.Contains(debug, "no response from "+addr+":3478 over UDP") {
		t.Errorf("debug output of turn_udp:\n%s", debug)
	}
}
