package probes_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/turn/v5"

	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

// turnTarget names the embedded server's TURN endpoint over tr.
func turnTarget(t *testing.T, srv *iceserver.Server, tr probes.Transport) probes.Target {
	t.Helper()
	var s probes.Server
	for _, c := range srv.Servers() {
		if c.IsTURN() && containsTransport(c.Transports(), tr) {
			s = c
		}
	}
	if s.URI.Host == "" {
		t.Fatalf("embedded server offers no TURN over %s", tr)
	}
	return probes.Target{Server: s, Transport: tr, TLS: &tls.Config{RootCAs: srv.CertPool(), MinVersion: tls.VersionTLS12}}
}

func containsTransport(ts []probes.Transport, tr probes.Transport) bool {
	for _, x := range ts {
		if x == tr {
			return true
		}
	}
	return false
}

func startTURNServer(t *testing.T, cfg iceserver.Config) *iceserver.Server {
	t.Helper()
	srv, err := iceserver.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

var fastTURN = probes.TURNConfig{Packets: 10, Interval: 2 * time.Millisecond, EchoWait: 300 * time.Millisecond}

func TestTURNRelaysOverEveryTransport(t *testing.T) {
	testenv.CheckGoroutines(t)
	srv := startTURNServer(t, iceserver.Config{})
	for _, tr := range []probes.Transport{probes.UDP, probes.TCP, probes.TLS, probes.DTLS} {
		t.Run(string(tr), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			m := probes.TURN(ctx, turnTarget(t, srv, tr), fastTURN)
			if m.Err != nil {
				t.Fatalf("TURN over %s: %v", tr, m.Err)
			}
			for name, want := range map[string]float64{"packets_sent": 10, "packets_received": 10, "loss_pct": 0, "relay_unroutable": 0} {
				if got := m.Metrics[name]; got != want {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
			for _, name := range []string{"alloc_ms", "rtt_min_ms", "rtt_median_ms", "rtt_p95_ms", "rtt_max_ms"} {
				if v, ok := m.Metrics[name]; !ok || v <= 0 {
					t.Errorf("%s = %v (present %v), want > 0", name, v, ok)
				}
			}
			if m.Metrics["rtt_min_ms"] > m.Metrics["rtt_max_ms"] {
				t.Errorf("rtt_min_ms %v > rtt_max_ms %v", m.Metrics["rtt_min_ms"], m.Metrics["rtt_max_ms"])
			}
			ev := evidenceMap(m)
			relayed, _, err := net.SplitHostPort(ev["relayed_address"])
			if err != nil || relayed != "127.0.0.1" {
				t.Errorf("relayed_address = %q, want 127.0.0.1:port", ev["relayed_address"])
			}
			if ev["peer_relayed_address"] == ev["relayed_address"] {
				t.Errorf("both relays are %s: the second allocation must be distinct", ev["relayed_address"])
			}
			if sum, ok := m.Summary.(*probes.TURNSummary); !ok || len(sum.Relayed) != 2 || sum.Relayed[0].String() != ev["relayed_address"] || sum.Relayed[1].String() != ev["peer_relayed_address"] {
				t.Errorf("summary %+v, want both relayed addresses (%s, %s)", m.Summary, ev["relayed_address"], ev["peer_relayed_address"])
			}
			if !strings.HasPrefix(ev["channel"], "bound 0x4000") {
				t.Errorf("channel = %q, want bound", ev["channel"])
			}
			// The embedded server grants IPv6 relays on ::1 when asked
			// (RFC 6156 REQUESTED-ADDRESS-FAMILY).
			if v, ok := m.Metrics["relay_ipv6"]; !ok || v != 1 || !strings.HasPrefix(ev["relay_ipv6"], "granted [::1]:") {
				t.Errorf("relay_ipv6 = %v (present %v), want 1; evidence %q", v, ok, ev["relay_ipv6"])
			}
			if _, ok := m.Metrics["connect_ms"]; ok != (tr != probes.UDP) {
				t.Errorf("connect_ms present = %v over %s", ok, tr)
			}
		})
	}
}

func evidenceMap(m probes.Measurement) map[string]string {
	out := map[string]string{}
	for _, e := range m.Evidence {
		out[e.Name] = e.Value
	}
	return out
}

// TestTURNServerErrors: each server policy surfaces as a typed STUNError
// with the code (and realm) the checks advise on.
func TestTURNServerErrors(t *testing.T) {
	testenv.CheckGoroutines(t)
	reject := func(*turn.RequestAttributes) (string, []byte, bool) { return "", nil, false }
	tests := []struct {
		name      string
		cfg       iceserver.Config
		password  string // overrides the right one when set
		wantCode  int
		wantRealm string
		wantReq   string
		wantAuth  bool
	}{
		// pion/turn since v5.1.3 answers refused credentials with 401, as
		// coturn does; Authenticated tells it from a missing credential.
		{name: "auth rejected", cfg: iceserver.Config{AuthHandler: reject}, wantCode: 401, wantRealm: iceserver.Realm, wantReq: "Allocate", wantAuth: true},
		{name: "wrong password", password: "wrong", wantCode: 401, wantRealm: iceserver.Realm, wantReq: "Allocate", wantAuth: true},
		{name: "no credentials", password: "-", wantCode: 401, wantRealm: iceserver.Realm, wantReq: "Allocate"},
		{name: "peer denied", cfg: iceserver.Config{PermissionHandler: func(net.Addr, net.IP) bool { return false }}, wantCode: 403, wantRealm: iceserver.Realm, wantReq: "CreatePermission", wantAuth: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startTURNServer(t, tc.cfg)
			for _, tr := range []probes.Transport{probes.UDP, probes.TCP} {
				target := turnTarget(t, srv, tr)
				switch tc.password {
				case "":
				case "-":
					target.Server.Username, target.Server.Password = "", ""
				default:
					target.Server.Password = tc.password
				}
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				m := probes.TURN(ctx, target, fastTURN)
				cancel()
				var se *probes.STUNError
				if !errors.As(m.Err, &se) {
					t.Fatalf("%s: err = %v (%T), want *STUNError", tr, m.Err, m.Err)
				}
				if se.Code != tc.wantCode || se.Realm != tc.wantRealm || se.Request != tc.wantReq || se.Authenticated != tc.wantAuth {
					t.Errorf("%s: got code %d realm %q request %q authenticated %v, want %d %q %q %v", tr,
						se.Code, se.Realm, se.Request, se.Authenticated, tc.wantCode, tc.wantRealm, tc.wantReq, tc.wantAuth)
				}
			}
		})
	}
}

// TestTURNQuotaOfOne: a server that grants this user one allocation gets
// no second one from rtcprobe's relay test; the result says how many
// rtcprobe held instead of failing on a quota it used up itself.
func TestTURNQuotaOfOne(t *testing.T) {
	testenv.CheckGoroutines(t)
	srv := startTURNServer(t, iceserver.Config{QuotaHandler: quotaOf(1)})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	m := probes.TURN(ctx, turnTarget(t, srv, probes.UDP), fastTURN)
	if m.Err != nil || m.Metrics["quota_held"] != 1 || !strings.Contains(evidenceMap(m)["quota"], "held 1") {
		t.Fatalf("err %v, quota_held %v, evidence %q; want no error, quota_held 1", m.Err, m.Metrics["quota_held"], evidenceMap(m)["quota"])
	}
}

// quotaOf admits n allocations in total.
func quotaOf(n int) turn.QuotaHandler {
	var mu = make(chan struct{}, 1)
	count := 0
	return func(string, string, net.Addr) bool {
		mu <- struct{}{}
		defer func() { <-mu }()
		count++
		return count <= n
	}
}

// TestTURNSendIndicationsWhenChannelRefused: a server that grants
// permissions but refuses ChannelBind (pion/turn answers 401 there) still
// relays, via Send/Data indications.
func TestTURNSendIndicationsWhenChannelRefused(t *testing.T) {
	testenv.CheckGoroutines(t)
	var calls atomic.Int32
	// The probe creates both permissions before binding channels: allow
	// the first two checks, refuse the rest.
	srv := startTURNServer(t, iceserver.Config{PermissionHandler: func(net.Addr, net.IP) bool { return calls.Add(1) <= 2 }})
	for _, tr := range []probes.Transport{probes.UDP, probes.TCP} {
		calls.Store(0)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		m := probes.TURN(ctx, turnTarget(t, srv, tr), probes.TURNConfig{Packets: 5, Interval: time.Millisecond, SkipIPv6: true})
		cancel()
		if m.Err != nil {
			t.Fatalf("%s: %v", tr, m.Err)
		}
		if m.Metrics["packets_received"] != 5 {
			t.Errorf("%s: packets_received = %v, want 5", tr, m.Metrics["packets_received"])
		}
		if ev := evidenceMap(m)["channel"]; !strings.Contains(ev, "Send/Data indications") || !strings.Contains(ev, "401 Unauthorized") {
			t.Errorf("%s: channel evidence %q", tr, ev)
		}
	}
}
