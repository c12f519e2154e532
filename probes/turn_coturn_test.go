package probes_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

func runTURN(t *testing.T, uri, user, pass string, tr probes.Transport, tc *coturn.Server) probes.Measurement {
	t.Helper()
	target := probes.Target{Server: mustServer(t, uri, user, pass), Transport: tr}
	if tc.CertPool != nil {
		target.TLS = tc.TLSConfig()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return probes.TURN(ctx, target, fastTURN)
}

func wantSTUNError(t *testing.T, err error, code int, request string) *probes.STUNError {
	t.Helper()
	var se *probes.STUNError
	if !errors.As(err, &se) || se.Code != code || se.Request != request {
		t.Fatalf("err = %v, want %d on %s", err, code, request)
	}
	return se
}

func wantRelayed(t *testing.T, m probes.Measurement, what string) {
	t.Helper()
	if m.Err != nil {
		t.Fatalf("%s: %v", what, m.Err)
	}
	if m.Metrics["packets_received"] != m.Metrics["packets_sent"] || m.Metrics["packets_sent"] == 0 || m.Metrics["rtt_median_ms"] <= 0 {
		t.Errorf("%s: metrics %v", what, m.Metrics)
	}
}

func TestCoturnLongTermCredentials(t *testing.T) {
	testenv.CheckGoroutines(t)
	ct := coturn.Start(t, coturn.Config{User: "u", Password: "p", Realm: "r", TLS: true})
	plain := ct.URI("turn", "127.0.0.1", ct.Port)
	for _, tc := range []struct {
		uri string
		tr  probes.Transport
	}{
		{plain, probes.UDP}, {plain, probes.TCP},
		{ct.URI("turns", "127.0.0.1", ct.TLSPort), probes.TLS},
		{ct.URI("turns", "127.0.0.1", ct.TLSPort) + "?transport=udp", probes.DTLS},
	} {
		t.Run(string(tc.tr), func(t *testing.T) {
			m := runTURN(t, tc.uri, "u", "p", tc.tr, ct)
			wantRelayed(t, m, tc.uri)
			if ev := evidenceMap(m); ev["channel"] != "bound 0x4000 both ways" {
				t.Errorf("channel = %q", ev["channel"])
			}
			se := wantSTUNError(t, runTURN(t, tc.uri, "u", "wrong", tc.tr, ct).Err, 401, "Allocate")
			if se.Realm != "r" || !se.Authenticated {
				t.Errorf("wrong password: realm %q authenticated %v, want realm r, authenticated", se.Realm, se.Authenticated)
			}
		})
	}
}

func TestCoturnRESTCredentials(t *testing.T) {
	testenv.CheckGoroutines(t)
	const secret = "coturn-rest-secret"
	ct := coturn.Start(t, coturn.Config{AuthSecret: secret})
	uri := ct.URI("turn", "127.0.0.1", ct.Port)
	for _, tr := range []probes.Transport{probes.UDP, probes.TCP} {
		user, pass := probes.RESTCredentials(secret, "alice", time.Hour, time.Now())
		wantRelayed(t, runTURN(t, uri, user, pass, tr, ct), "REST credentials over "+string(tr))

		user, pass = probes.RESTCredentials(secret, "alice", -time.Minute, time.Now())
		se := wantSTUNError(t, runTURN(t, uri, user, pass, tr, ct).Err, 401, "Allocate")
		if se.Realm != ct.Realm {
			t.Errorf("expired REST credentials: realm %q, want %q", se.Realm, ct.Realm)
		}
	}
}

// TestCoturnPolicyErrors: coturn's own refusals, as a network admin would
// meet them.
func TestCoturnPolicyErrors(t *testing.T) {
	testenv.CheckGoroutines(t)
	t.Run("loopback peers denied", func(t *testing.T) {
		ct := coturn.Start(t, coturn.Config{User: "u", Password: "p", DenyLoopbackPeers: true})
		wantSTUNError(t, runTURN(t, ct.URI("turn", "127.0.0.1", ct.Port), "u", "p", probes.UDP, ct).Err, 403, "CreatePermission")
	})
	t.Run("user quota", func(t *testing.T) {
		// One allocation is granted; the relay test's second one is not,
		// and the probe says it held one itself.
		ct := coturn.Start(t, coturn.Config{User: "u", Password: "p", UserQuota: 1})
		m := runTURN(t, ct.URI("turn", "127.0.0.1", ct.Port), "u", "p", probes.UDP, ct)
		if m.Err != nil || m.Metrics["quota_held"] != 1 {
			t.Errorf("err %v, quota_held %v: want the 486 on the second allocation counted as rtcprobe's own", m.Err, m.Metrics["quota_held"])
		}
	})
}

func TestCoturnIPv6(t *testing.T) {
	testenv.CheckGoroutines(t)
	if !coturn.HasIPv6() {
		testenv.Unavailable(t, "no ::1 on this machine")
	}
	ct := coturn.Start(t, coturn.Config{User: "u", Password: "p", IPv6: true})
	for _, host := range []string{"127.0.0.1", "::1"} {
		m := runTURN(t, ct.URI("turn", host, ct.Port), "u", "p", probes.UDP, ct)
		wantRelayed(t, m, "over "+host)
		if m.Metrics["relay_ipv6"] != 1 {
			t.Errorf("via %s: relay_ipv6 = %v (%s), want an IPv6 relay granted", host, m.Metrics["relay_ipv6"], evidenceMap(m)["relay_ipv6"])
		}
	}
}
