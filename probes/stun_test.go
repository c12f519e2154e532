package probes_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/rtcprobe/rtcprobe/internal/iceserver"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

func startEmbedded(t testing.TB) *iceserver.Server {
	t.Helper()
	srv, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func target(t testing.TB, raw string, tr probes.Transport) probes.Target {
	t.Helper()
	s, err := probes.ParseServer(raw)
	if err != nil {
		t.Fatal(err)
	}
	return probes.Target{Server: s, Transport: tr}
}

func evidence(m probes.Measurement, name string) string {
	for _, e := range m.Evidence {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func TestSTUNAgainstEmbeddedServer(t *testing.T) {
	testenv.CheckGoroutines(t)
	srv := startEmbedded(t)
	for _, tr := range []probes.Transport{probes.UDP, probes.TCP} {
		t.Run(string(tr), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			m := probes.STUN(ctx, target(t, srv.Servers()[0].String(), tr), probes.STUNConfig{Count: 7})
			if m.Err != nil {
				t.Fatalf("STUN over %s: %v", tr, m.Err)
			}
			if m.Metrics["requests"] != 7 || m.Metrics["responses"] != 7 || m.Metrics["loss_pct"] != 0 {
				t.Errorf("requests/responses/loss = %v/%v/%v, want 7/7/0", m.Metrics["requests"], m.Metrics["responses"], m.Metrics["loss_pct"])
			}
			lo, med, p95, hi := m.Metrics["rtt_min_ms"], m.Metrics["rtt_median_ms"], m.Metrics["rtt_p95_ms"], m.Metrics["rtt_max_ms"]
			if !(lo > 0 && lo <= med && med <= p95 && p95 <= hi && hi < 1000) {
				t.Errorf("rtt min/median/p95/max = %v/%v/%v/%v: not ordered or implausible", lo, med, p95, hi)
			}
			// The server reflects our own socket's address: on loopback
			// there is no NAT, so mapped == local.
			mapped, local := evidence(m, "mapped_address"), evidence(m, "local_address")
			if mapped == "" || mapped != local {
				t.Errorf("mapped address %q, local %q: want equal on loopback", mapped, local)
			}
			if fam := evidence(m, "mapped_family"); fam != "IPv4" {
				t.Errorf("mapped_family = %q, want IPv4", fam)
			}
			if _, ok := m.Metrics["connect_ms"]; ok != (tr == probes.TCP) {
				t.Errorf("connect_ms present = %v for %s", ok, tr)
			}
		})
	}
}

func TestSTUNIPv6(t *testing.T) {
	testenv.RequireIPv6Loopback(t)
	// ::1 works here: a failure to start on it is ours.
	srv, err := iceserver.Start(iceserver.Config{Host: "::1"})
	if err != nil {
		t.Fatalf("embedded server on ::1: %v", err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	m := probes.STUN(ctx, target(t, srv.Servers()[0].String(), probes.UDP), probes.STUNConfig{Count: 2})
	if m.Err != nil {
		t.Fatal(m.Err)
	}
	if fam := evidence(m, "mapped_family"); fam != "IPv6" {
		t.Errorf("mapped_family = %q, want IPv6", fam)
	}
}

// A UDP socket that reads and never answers: the probe must give up by its
// deadline with a TimeoutError that names the address and transport.
func TestSTUNSilentServerFailsByDeadline(t *testing.T) {
	testenv.CheckGoroutines(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	start := time.Now()
	m := probes.STUN(ctx, target(t, "stun:"+pc.LocalAddr().String(), probes.UDP), probes.STUNConfig{Count: 5, RequestTimeout: 200 * time.Millisecond})
	took := time.Since(start)
	var te *probes.TimeoutError
	if !errors.As(m.Err, &te) {
		t.Fatalf("err = %v (%T), want *TimeoutError", m.Err, m.Err)
	}
	if took > time.Second {
		t.Errorf("took %s, past the 700ms deadline", took)
	}
	msg := m.Err.Error()
	if !strings.Contains(msg, "no response from "+pc.LocalAddr().String()+" over UDP in") {
		t.Errorf("message %q does not say what timed out", msg)
	}
}

// Closed ports answer at once: RST for TCP, ICMP port unreachable for UDP.
func TestSTUNClosedPortIsRefused(t *testing.T) {
	addr := closedPort(t)
	for _, tr := range []probes.Transport{probes.UDP, probes.TCP} {
		t.Run(string(tr), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			m := probes.STUN(ctx, target(t, "stun:"+addr, tr), probes.STUNConfig{})
			var re *probes.RefusedError
			if !errors.As(m.Err, &re) {
				t.Fatalf("err = %v (%T), want *RefusedError", m.Err, m.Err)
			}
			if re.Transport != tr || re.Addr != addr {
				t.Errorf("refused %s %s, want %s %s", re.Transport, re.Addr, tr, addr)
			}
			o, ok := probes.ObservationOf(m.Err)
			if !ok {
				t.Fatal("the refusal carries no observation")
			}
			if tr == probes.TCP {
				if o.Outcome != probes.OutcomeReset {
					t.Errorf("observation %+v, want a reset", o)
				}
				return
			}
			// The socket's error queue names the ICMP error and its sender.
			if re.ICMP == nil || !re.ICMP.PortUnreachable() || re.ICMP.From != "127.0.0.1" {
				t.Errorf("ICMP report %+v, want port unreachable from 127.0.0.1", re.ICMP)
			}
			if o.Outcome != probes.OutcomeICMP || o.ICMP == nil || o.ICMP.Meaning != "port unreachable" || o.To != addr {
				t.Errorf("observation %+v", o)
			}
		})
	}
}

// A server that answers Binding with an error response: the code travels
// as a *STUNError.
func TestSTUNErrorResponse(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go answerWithError(pc, 400)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	m := probes.STUN(ctx, target(t, "stun:"+pc.LocalAddr().String(), probes.UDP), probes.STUNConfig{Count: 2})
	var se *probes.STUNError
	if !errors.As(m.Err, &se) || se.Code != 400 {
		t.Fatalf("err = %v, want STUN error 400", m.Err)
	}
}

// A server that talks garbage is a protocol error, not a timeout.
func TestSTUNGarbageAnswer(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 1500)
		n, from, err := pc.ReadFrom(buf)
		if err == nil && n > 0 {
			_, _ = pc.WriteTo([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"), from)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	m := probes.STUN(ctx, target(t, "stun:"+pc.LocalAddr().String(), probes.UDP), probes.STUNConfig{Count: 1})
	var pe *probes.ProtocolError
	if !errors.As(m.Err, &pe) {
		t.Fatalf("err = %v (%T), want *ProtocolError", m.Err, m.Err)
	}
}

func TestSTUNDNSFailure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	// .invalid never resolves (RFC 2606); inside the test namespace there
	// is no resolver either, so this fails fast without leaving loopback.
	m := probes.STUN(ctx, target(t, "stun:no-such-host.invalid", probes.UDP), probes.STUNConfig{})
	var de *probes.DNSError
	if !errors.As(m.Err, &de) {
		t.Fatalf("err = %v (%T), want *DNSError", m.Err, m.Err)
	}
	if de.Host != "no-such-host.invalid" {
		t.Errorf("DNSError names %q, want the host asked for", de.Host)
	}
}

// closedPort returns a loopback address where nothing listens on UDP or TCP.
func closedPort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// BenchmarkSTUNCheck is STUN checks per second against the embedded
// server, each on a fresh socket with one Binding request.
func BenchmarkSTUNCheck(b *testing.B) {
	srv := startEmbedded(b)
	for _, tr := range []probes.Transport{probes.UDP, probes.TCP} {
		b.Run(string(tr), func(b *testing.B) {
			tg := target(b, srv.Servers()[0].String(), tr)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
					m := probes.STUN(ctx, tg, probes.STUNConfig{Count: 1})
					cancel()
					if m.Err != nil {
						b.Error(m.Err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
		})
	}
}

// answerWithError replies to one Binding request with an error code.
func answerWithError(pc net.PacketConn, code int) {
	buf := make([]byte, 1500)
	n, from, err := pc.ReadFrom(buf)
	if err != nil {
		return
	}
	req := &stun.Message{Raw: buf[:n]}
	if req.Decode() != nil {
		return
	}
	resp, _ := stun.Build(stun.NewTransactionIDSetter(req.TransactionID),
		stun.NewType(stun.MethodBinding, stun.ClassErrorResponse), stun.ErrorCode(code))
	_, _ = pc.WriteTo(resp.Raw, from)
}
