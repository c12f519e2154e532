package checks

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

func TestTURNJudge(t *testing.T) {
	c := catalogCheck(t, "turn.udp")
	ok := map[string]float64{"alloc_ms": 1, "rtt_p95_ms": 1, "rtt_median_ms": 1, "loss_pct": 0, "packets_sent": 20, "packets_received": 20, "relay_unroutable": 0}
	with := func(k string, v float64) map[string]float64 {
		m := map[string]float64{}
		for a, b := range ok {
			m[a] = b
		}
		m[k] = v
		return m
	}
	// oneWay is a run that lost ab % of 100 packets A → B and ba % of
	// what B echoed back, with loss_pct, the one-way loss over both,
	// about half the sum (under 20).
	oneWay := func(ab, ba float64) map[string]float64 {
		m := with("loss_ab_pct", ab)
		m["loss_ba_pct"] = ba
		m["loss_pct"] = (ab + ba) / 2
		return m
	}
	tests := []struct {
		name       string
		m          probes.Measurement
		want       Status
		wantAdvice string
	}{
		{"healthy", probes.Measurement{Metrics: ok}, Pass, ""},
		{"all lost", probes.Measurement{Metrics: func() map[string]float64 { m := with("packets_received", 0); m["loss_pct"] = 100; return m }()}, Fail, "no relayed packet came back"},
		{"some loss", probes.Measurement{Metrics: with("loss_pct", 5)}, Warn, "were lost"},
		// One direction alone: the one-way loss over both stays under
		// its fail limit, the direction's own limit is 20 %.
		{"B → A loss just under 20 %", probes.Measurement{Metrics: oneWay(0, 19.9)}, Warn, "B → A 19.9 %"},
		{"B → A loss 20 %", probes.Measurement{Metrics: oneWay(0, 20)}, Fail, "B → A 20 %"},
		{"A → B loss just under 20 %", probes.Measurement{Metrics: oneWay(19.9, 0)}, Warn, "relay A → B 19.9 %, B → A 0 %"},
		{"A → B loss 20 %", probes.Measurement{Metrics: oneWay(20, 0)}, Fail, "relay A → B 20 %, B → A 0 %"},
		{"far relay", probes.Measurement{Metrics: with("rtt_p95_ms", 200)}, Warn, "closer"},
		{"unusable relay", probes.Measurement{Metrics: with("rtt_p95_ms", 500)}, Fail, "closer"},
		{"slow allocation", probes.Measurement{Metrics: with("alloc_ms", 900)}, Warn, "Allocation is slow"},
		{"private relay on public server", probes.Measurement{Metrics: with("relay_unroutable", 1), Evidence: []probes.Evidence{{Name: "relayed_address", Value: "10.0.0.5:50000"}}}, Warn, "10.0.0.5:50000"},
		{"peer denied", probes.Failed(&probes.STUNError{Code: 403, Request: "CreatePermission"}), Fail, "--allow-loopback-peers"},
		{"quota", probes.Failed(&probes.STUNError{Code: 486, Request: "Allocate"}), Fail, "quota"},
		{"hang-up", probes.Failed(&probes.ClosedError{Addr: "127.0.0.1:3478", Transport: probes.TCP, Request: "Allocate"}), Fail, "hangs up on this protocol"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Judge(Subject{Name: "turn:192.0.2.1:3478"}, tc.m, time.Millisecond, c.Thresholds)
			if r.Status != tc.want {
				t.Errorf("status %s, want %s (%s)", r.Status, tc.want, r.Error)
			}
			if !strings.Contains(r.Advice, tc.wantAdvice) {
				t.Errorf("advice %q, want it to mention %q", r.Advice, tc.wantAdvice)
			}
		})
	}
}

// TestUDPBlockedAcross: turn.udp's rule across results, run as the runner
// runs it (declared by the check, not known to the runner).
func TestUDPBlockedAcross(t *testing.T) {
	res := func(id, uri string, tr probes.Transport, st Status, advice string) Result {
		s, err := probes.ParseServer(uri)
		if err != nil {
			t.Fatal(err)
		}
		return Result{CheckID: id, Target: uri, Subject: result.Subject{Target: probes.Target{Server: s, Transport: tr}}, Status: st, Advice: advice}
	}
	// failed is turn.udp failing with cause err.
	failed := func(uri string, err error, advice string) Result {
		r := res("turn.udp", uri, probes.UDP, Fail, advice)
		r.Cause, r.Error = err, err.Error()
		return r
	}
	const blocked = "UDP is blocked on the path"
	tests := []struct {
		name    string
		in      []Result
		want    string // substring of turn.udp's advice; "" means no cross advice
		wantAlt string
	}{
		{"UDP fails, TCP and TLS pass", []Result{
			failed("turn:turn.example.org:3478", &probes.TimeoutError{Addr: "turn.example.org:3478", Transport: probes.UDP, After: 2 * time.Second}, "Nothing answered."),
			res("turn.tcp", "turn:turn.example.org:3478", probes.TCP, Pass, ""),
			res("turn.tls", "turns:turn.example.org:5349", probes.TLS, Warn, ""),
		}, blocked, "TCP and TLS works on turn.example.org"},
		{"keeps the specific advice", []Result{
			failed("turn:[2001:db8::1]:3478", &probes.TimeoutError{Addr: "[2001:db8::1]:3478", Transport: probes.UDP, After: 2 * time.Second}, "Nothing answered."),
			res("turn.tls", "turns:[2001:db8::1]:443", probes.TLS, Pass, ""),
		}, "turns:[2001:db8::1]:443?transport=tcp", "Nothing answered."},
		{"the host refuses UDP", []Result{
			failed("turn:h:3478", &probes.RefusedError{Addr: "h:3478", Transport: probes.UDP}, ""),
			res("turn.tcp", "turn:h:3478", probes.TCP, Pass, ""),
		}, "the server host itself refuses UDP", "does not listen on UDP"},
		{"UDP answered with an error", []Result{
			failed("turn:h:3478", &probes.STUNError{Code: 403, Reason: "Forbidden IP", Request: "CreatePermission"}, ""),
			res("turn.tcp", "turn:h:3478", probes.TCP, Pass, ""),
		}, "", ""},
		{"everything fails", []Result{
			res("turn.udp", "turn:h:3478", probes.UDP, Fail, ""),
			res("turn.tcp", "turn:h:3478", probes.TCP, Fail, ""),
		}, "", ""},
		{"another host works", []Result{
			res("turn.udp", "turn:a:3478", probes.UDP, Fail, ""),
			res("turn.tcp", "turn:b:3478", probes.TCP, Pass, ""),
		}, "", ""},
		{"UDP passes", []Result{
			res("turn.udp", "turn:h:3478", probes.UDP, Pass, ""),
			res("turn.tcp", "turn:h:3478", probes.TCP, Pass, ""),
		}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			across(&Plan{Checks: Catalog()}, tc.in)
			got := tc.in[0].Advice
			if tc.want == "" {
				if strings.Contains(got, blocked) || strings.Contains(got, "refuses UDP") {
					t.Errorf("unexpected cross advice %q", got)
				}
				return
			}
			if !strings.Contains(got, tc.want) || !strings.Contains(got, tc.wantAlt) {
				t.Errorf("advice %q, want %q and %q", got, tc.want, tc.wantAlt)
			}
		})
	}
}

// TestTURNChecksAgainstEmbedded runs the TURN group through the runner
// against the embedded server: every transport relays.
func TestTURNChecksAgainstEmbedded(t *testing.T) {
	testenv.CheckGoroutines(t)
	srv, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	sel := MustSelect(Catalog(), "turn")
	p := &Plan{Servers: srv.Servers(), Checks: sel, TLS: &tls.Config{RootCAs: srv.CertPool(), MinVersion: tls.VersionTLS12}, Settings: config.Settings{Timeout: 10 * time.Second, TURNPackets: 5}}
	results := Run(context.Background(), p, nil)
	got := map[string]Status{}
	for _, r := range results {
		got[r.CheckID] = r.Status
		if r.Status != Pass {
			t.Errorf("%s on %s: %s: %s (%s)", r.CheckID, r.Target, r.Status, r.Error, r.Advice)
		}
		if len(r.KeyMetrics) != 3 {
			t.Errorf("%s key metrics %v", r.CheckID, r.KeyMetrics)
		}
	}
	for _, id := range []string{"turn.udp", "turn.tcp", "turn.tls", "turn.dtls"} {
		if _, ok := got[id]; !ok {
			t.Errorf("%s did not run against the embedded server", id)
		}
	}
}

// TestTURNUDPBlockedAdvice: the embedded server's TCP and TLS work while
// UDP goes to a port where nothing answers; the runner's results carry
// the cross-transport advice.
func TestTURNUDPBlockedAdvice(t *testing.T) {
	testenv.CheckGoroutines(t)
	srv, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	user, pass := srv.Credentials()
	var servers []probes.Server
	for _, raw := range []string{
		fmt.Sprintf("turn:127.0.0.1:%d?transport=tcp", srv.Port()),
		fmt.Sprintf("turns:127.0.0.1:%d", srv.TLSPort()),
		fmt.Sprintf("turn:127.0.0.1:%d?transport=udp", silent.LocalAddr().(*net.UDPAddr).Port),
	} {
		s, err := probes.ParseServer(raw)
		if err != nil {
			t.Fatal(err)
		}
		s.Username, s.Password = user, pass
		servers = append(servers, s)
	}
	sel := MustSelect(Catalog(), "turn")
	p := &Plan{Servers: servers, Checks: sel, TLS: &tls.Config{RootCAs: srv.CertPool(), MinVersion: tls.VersionTLS12}, Settings: config.Settings{CheckTimeout: time.Second, TURNPackets: 3}}
	var udpResult *Result
	results := Run(context.Background(), p, nil)
	for i, r := range results {
		if r.CheckID == "turn.udp" {
			udpResult = &results[i]
		}
	}
	if udpResult == nil || udpResult.Status != Fail {
		t.Fatalf("turn.udp result %+v, want fail", udpResult)
	}
	if !strings.Contains(udpResult.Advice, "UDP is blocked on the path") || !strings.Contains(udpResult.Advice, "443") {
		t.Errorf("turn.udp advice %q lacks the cross-transport conclusion", udpResult.Advice)
	}
}
