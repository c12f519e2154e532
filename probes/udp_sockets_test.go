package probes_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
	"github.com/rtcprobe/rtcprobe/probes"
)

// bindingResponder answers Binding requests on a loopback UDP port; with
// dropIn n > 0 it leaves the nth next one unanswered. strayTo sends an
// answer to no request.
type bindingResponder struct {
	pc     net.PacketConn
	dropIn atomic.Int32
	// strayWith: each answer comes with an answer to no request.
	strayWith atomic.Bool
}

func startBindingResponder(t *testing.T) *bindingResponder {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	r := &bindingResponder{pc: pc}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			req := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if req.Decode() != nil || r.dropIn.Load() > 0 && r.dropIn.Add(-1) == 0 {
				continue
			}
			r.answer(from, req.TransactionID)
			if r.strayWith.Load() {
				r.answer(from, stun.NewTransactionID())
			}
		}
	}()
	return r
}

func (r *bindingResponder) answer(to net.Addr, tid [stun.TransactionIDSize]byte) {
	ua := to.(*net.UDPAddr)
	res := stun.MustBuild(stun.NewTransactionIDSetter(tid), stun.BindingSuccess,
		&stun.XORMappedAddress{IP: ua.IP, Port: ua.Port}, stun.Fingerprint)
	_, _ = r.pc.WriteTo(res.Raw, to)
}

// strayTo sends an answer with a transaction ID nobody used. Over
// loopback the kernel has queued it at the receiver when WriteTo returns.
func (r *bindingResponder) strayTo(t *testing.T, addr string) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r.answer(ua, stun.NewTransactionID())
}

// TestUDPSocketsKeepOnlyCleanSockets: the exporter's kept sockets change
// no figure. A probe that ended clean leaves its socket to the next probe
// of the server; an answer that came in between is dropped, not counted as
// the next probe's stray answer; a probe with a request unanswered does
// not leave its socket (its answer may still come); an expired socket is
// closed, not lent.
func TestUDPSocketsKeepOnlyCleanSockets(t *testing.T) {
	srv := startBindingResponder(t)
	tgt := target(t, "stun:"+srv.pc.LocalAddr().String(), probes.UDP)
	kept := probes.NewUDPSockets()
	t.Cleanup(kept.Close)
	cfg := probes.STUNConfig{Count: 3, RequestTimeout: 200 * time.Millisecond, Sockets: kept}
	probe := func(step string) (probes.Measurement, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m := probes.STUN(ctx, tgt, cfg)
		if m.Err != nil {
			t.Fatalf("%s: %v", step, m.Err)
		}
		return m, evidence(m, "local_address")
	}

	_, first := probe("first probe")
	if kept.Len() != 1 {
		t.Fatalf("after a clean probe %d sockets are kept, want 1", kept.Len())
	}
	srv.strayTo(t, first)
	srv.strayTo(t, first)
	m, second := probe("probe after two late answers")
	if second != first || m.Metrics["stray_answers"] != 0 || m.Metrics["loss_pct"] != 0 {
		t.Errorf("second probe from %s (first %s): stray_answers %v loss_pct %v; want the kept socket, 0 and 0",
			second, first, m.Metrics["stray_answers"], m.Metrics["loss_pct"])
	}

	srv.dropIn.Store(2) // the second: with the first lost the probe would also try an Allocate
	m, third := probe("probe with one request lost")
	if third != first || m.Metrics["responses"] != 2 {
		t.Errorf("third probe from %s (kept %s), %v responses; want the kept socket and 2", third, first, m.Metrics["responses"])
	}
	if kept.Len() != 0 {
		t.Errorf("a probe with a request unanswered left its socket (%d kept)", kept.Len())
	}
	_, fourth := probe("probe after the lossy one")
	if fourth == first {
		t.Errorf("the socket of the lossy probe (%s) was lent again", first)
	}

	srv.strayWith.Store(true)
	m, _ = probe("probe hearing answers to no request")
	srv.strayWith.Store(false)
	if m.Metrics["stray_answers"] == 0 || kept.Len() != 0 {
		t.Errorf("a probe that heard %v stray answers left its socket (%d kept): more may still come", m.Metrics["stray_answers"], kept.Len())
	}

	_, fourth = probe("a clean probe again")
	kept.IdleFor = time.Nanosecond
	time.Sleep(time.Millisecond)
	if _, fifth := probe("probe after the socket expired"); fifth == fourth {
		t.Errorf("an expired socket (%s) was lent", fourth)
	}
	if kept.Len() != 1 {
		t.Errorf("after one socket expired and one was kept, %d are counted, want 1", kept.Len())
	}
	kept.IdleFor = time.Minute
	_, flooded := probe("a clean probe, whose socket is then flooded")
	for range 100 {
		srv.strayTo(t, flooded)
	}
	if _, next := probe("probe after the flood"); next == flooded {
		t.Errorf("a socket that received 100 datagrams while kept (%s) was lent: it is still being sent to", flooded)
	}
	kept.Close()
	probe("probe after Close")
	if kept.Len() != 0 {
		t.Errorf("a socket was kept after Close (%d)", kept.Len())
	}
}

// TestUDPSocketsKeepAtMostMax: the set keeps at most Max sockets in all;
// a clean probe's socket beyond that is closed, not kept.
func TestUDPSocketsKeepAtMostMax(t *testing.T) {
	kept := probes.NewUDPSockets()
	t.Cleanup(kept.Close)
	kept.Max = 1
	for _, srv := range []*bindingResponder{startBindingResponder(t), startBindingResponder(t)} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		m := probes.STUN(ctx, target(t, "stun:"+srv.pc.LocalAddr().String(), probes.UDP), probes.STUNConfig{Count: 2, Sockets: kept})
		cancel()
		if m.Err != nil {
			t.Fatal(m.Err)
		}
	}
	if kept.Len() != 1 {
		t.Errorf("%d sockets kept with Max 1", kept.Len())
	}
}

// TestCoturnLeftAsItWasByStunProbes: a healthy coturn probed as fast as
// the exporter does (stun_udp: 5 Binding requests a probe, 16 at once)
// reads healthy every time and is left as it was. Each client address is
// a session of coturn's for a minute, whose memory coturn keeps: with a
// fresh socket per probe its RSS grew 15 → 87 MiB over these 4,000 probes
// and stayed there.
func TestCoturnLeftAsItWasByStunProbes(t *testing.T) {
	if testing.Short() {
		t.Skip("4000 STUN probes against coturn")
	}
	ct := coturn.Start(t, coturn.Config{User: "u", Password: "p"})
	tgt := target(t, ct.URI("stun", "127.0.0.1", ct.Port), probes.UDP)
	kept := probes.NewUDPSockets()
	t.Cleanup(kept.Close)
	rss0, err := ct.RSS()
	if err != nil {
		t.Fatal(err)
	}
	const n, concurrency = 4000, 16
	var (
		wg    sync.WaitGroup
		sem   = make(chan struct{}, concurrency)
		fails atomic.Int32
		local sync.Map
	)
	start := time.Now()
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			m := probes.STUN(ctx, tgt, probes.STUNConfig{Sockets: kept})
			if m.Err != nil || m.Metrics["loss_pct"] != 0 {
				if fails.Add(1) <= 5 {
					t.Errorf("probe: %v, loss %v%%", m.Err, m.Metrics["loss_pct"])
				}
				return
			}
			local.Store(evidence(m, "local_address"), true)
		}()
	}
	wg.Wait()
	rss1, err := ct.RSS()
	if err != nil {
		t.Fatal(err)
	}
	ports := 0
	local.Range(func(any, any) bool { ports++; return true })
	t.Logf("%d stun_udp probes, %d at once, in %s from %d local ports; coturn RSS %d → %d KiB",
		n, concurrency, time.Since(start).Round(time.Millisecond), ports, rss0>>10, rss1>>10)
	if grew := rss1 - rss0; grew > 4<<20 {
		t.Errorf("coturn's RSS grew %d KiB: its sessions were not left as they were", grew>>10)
	}
	if ports > 4*concurrency {
		t.Errorf("%d local ports for %d probes at most %d at once: sockets are not kept", ports, n, concurrency)
	}
}
