package conformance

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// Relay ports and client ports are kept apart so that the loss rule hits
// only relay-to-relay packets: exactly one lossy hop per direction.
const (
	relayPorts  = "50000:50999"
	clientPorts = "20000 29999"
)

// TestTURNLossMatchesUclient injects random loss on coturn's relay ports
// (iptables statistic, inside a namespace of the test's own) and has
// rtcprobe and coturn's own turnutils_uclient measure the same server at
// once: rtcprobe's one-way loss must land within 2 percentage points of
// the injected per-hop rate and of uclient's figure.
func TestTURNLossMatchesUclient(t *testing.T) {
	netlab.Require(t)
	uclient := testenv.LookPath(t, "turnutils_uclient")
	for _, rate := range []float64{10, 20} {
		t.Run(fmt.Sprintf("%g%%", rate), func(t *testing.T) {
			t.Parallel()
			ns := netlab.NewNS(t, "loss")
			ns.Run(t, "sysctl", "-qw", "net.ipv4.ip_local_port_range="+clientPorts)
			ct := coturn.Start(t, coturn.Config{User: "u", Password: "p", NS: ns,
				Args: []string{"--min-port=50000", "--max-port=50999"}})
			ns.IPTables(t, fmt.Sprintf("-A INPUT -p udp --dport %s -m statistic --mode random --probability %g -j DROP", relayPorts, rate/100))

			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			uc := make(chan uclientLoss, 1)
			go func() {
				out, err := ns.Command(ctx, uclient, "-y", "-u", "u", "-w", "p", "-n", "3000", "-z", "5",
					"-e", "127.0.0.1", "-p", strconv.Itoa(ct.Port), "127.0.0.1").CombinedOutput()
				uc <- parseUclient(out, err)
			}()
			rep := parseReport(t, ns.Command(ctx, binary, "--json", "-", "--checks", "turn.udp", "--turn-packets", "4000", "--turn-interval", "5ms",
				"--check-timeout", "80s", "--timeout", "100s", "--user", "u", "--password", "p",
				ct.URI("turn", "127.0.0.1", ct.Port)))
			if len(rep.Checks) != 1 {
				t.Fatalf("%d results, want turn.udp", len(rep.Checks))
			}
			r := rep.Checks[0]
			u := <-uc
			if u.err != nil {
				t.Fatalf("turnutils_uclient: %v", u.err)
			}
			v := r.Metrics
			t.Logf("injected %g%% per hop: rtcprobe one-way %.2f%% (A→B %.2f%%, B→A %.2f%%, round trip %.2f%%, %v packets), uclient %.2f%% (%d messages); status %s",
				rate, v["loss_pct"], v["loss_ab_pct"], v["loss_ba_pct"], v["loss_rtt_pct"], v["packets_sent"], u.pct, u.msgs, r.Status)
			if d := math.Abs(v["loss_pct"] - rate); d > 2 {
				t.Errorf("one-way loss %.2f%% is %.2f pp off the injected %g%%", v["loss_pct"], d, rate)
			}
			if d := math.Abs(v["loss_pct"] - u.pct); d > 2 {
				t.Errorf("one-way loss %.2f%% is %.2f pp off turnutils_uclient's %.2f%%", v["loss_pct"], d, u.pct)
			}
			// Each direction alone rests on half the packets: looser bound.
			for _, dir := range []string{"loss_ab_pct", "loss_ba_pct"} {
				if d := math.Abs(v[dir] - rate); d > 4 {
					t.Errorf("%s %.2f%% is %.2f pp off the injected %g%%", dir, v[dir], d, rate)
				}
			}
			if rate == 10 && r.Status != "warn" {
				t.Errorf("10%% one-way loss: status %s (%s), want warn", r.Status, r.Error)
			}
			if r.Status == "pass" {
				t.Errorf("%g%% loss passed", rate)
			}
		})
	}
}

type uclientLoss struct {
	pct  float64
	msgs int
	err  error
}

var (
	uclientLost = regexp.MustCompile(`Total lost packets (\d+) \(([0-9.]+)%\)`)
	uclientSent = regexp.MustCompile(`tot_send_msgs=(\d+)`)
)

// parseUclient reads uclient's summary: "Total lost packets 182
// (9.100000%)" after "tot_send_msgs=2000".
func parseUclient(out []byte, err error) uclientLoss {
	lost := uclientLost.FindSubmatch(out)
	sents := uclientSent.FindAllSubmatch(out, -1)
	if lost == nil || len(sents) == 0 {
		return uclientLoss{err: fmt.Errorf("no loss summary (%v):\n%s", err, out)}
	}
	sent := sents[len(sents)-1] // the running count grows to the total
	pct, _ := strconv.ParseFloat(string(lost[2]), 64)
	n, _ := strconv.Atoi(string(sent[1]))
	return uclientLoss{pct: pct, msgs: n}
}
