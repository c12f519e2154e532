package engine_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/pion/stun/v4"

	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/internal/engine"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
	"github.com/rtcprobe/rtcprobe/report"
)

// flakySTUN answers Binding requests on loopback, except while silent.
func flakySTUN(t *testing.T) (addr string, silent *atomic.Bool) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	silent = &atomic.Bool{}
	done := make(chan struct{})
	t.Cleanup(func() { _ = pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			req := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if req.Decode() != nil || silent.Load() {
				continue
			}
			ua := from.(*net.UDPAddr)
			resp := stun.MustBuild(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
				&stun.XORMappedAddress{IP: ua.IP, Port: ua.Port}, stun.Fingerprint)
			_, _ = pc.WriteTo(resp.Raw, from)
		}
	}()
	return pc.LocalAddr().String(), silent
}

func optionLayer(kv ...string) config.Layer {
	var l config.Layer
	for i := 0; i+1 < len(kv); i += 2 {
		l = append(l, config.Assignment{Option: config.LookupOption(kv[i]), Text: kv[i+1], Source: "test"})
	}
	return l
}

// TestSoakShowsFlapping repeats a run against a STUN server that stops
// answering every third iteration: the report has every iteration, the
// check's statuses pass, pass, fail twice over, three flaps, a pass rate
// of two thirds, and the run's status is the worst iteration's.
func TestSoakShowsFlapping(t *testing.T) {
	testenv.CheckGoroutines(t)
	addr, silent := flakySTUN(t)
	srv, err := probes.ParseServer("stun:" + addr)
	if err != nil {
		t.Fatal(err)
	}
	r, err := engine.Prepare(engine.Input{Servers: []probes.Server{srv}, Selection: selection(t, "stun.udp"),
		Options: optionLayer("repeat", "6", "stun_count", "2", "check_timeout", "400ms")})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.Repeats() {
		t.Fatal("repeat 6 does not repeat")
	}
	rep := r.ExecuteRepeated(context.Background(), nil, func(i int, _ report.Report) {
		silent.Store((i+1)%3 == 0) // the server fails iterations 3 and 6
	})
	if rep.Repeat == nil || len(rep.Repeat.Iterations) != 6 || len(rep.Repeat.Checks) != 1 {
		t.Fatalf("repeat %+v", rep.Repeat)
	}
	c := rep.Repeat.Checks[0]
	var got string
	for _, s := range c.Statuses {
		got += string(s)[:1]
	}
	if got != "ppfppf" || c.Flaps != 3 || c.PassRate(result.Fail) != 66.7 {
		t.Errorf("statuses %s flaps %d pass rate %v, want ppfppf, 3, 66.7", got, c.Flaps, c.PassRate(result.Fail))
	}
	if s := c.Metrics["rtt_median_ms"]; s.N != 4 {
		t.Errorf("rtt_median_ms across iterations: %+v, want 4 values (the passing iterations)", s)
	}
	if rep.Overall() != result.Fail || rep.Interrupted {
		t.Errorf("overall %s interrupted %v", rep.Overall(), rep.Interrupted)
	}
}

// TestRepeatInterrupted: cancelling a repeated run (Ctrl-C) ends it with
// the iterations done so far, marked interrupted.
func TestRepeatInterrupted(t *testing.T) {
	testenv.CheckGoroutines(t)
	addr, _ := flakySTUN(t)
	srv, _ := probes.ParseServer("stun:" + addr)
	r, err := engine.Prepare(engine.Input{Servers: []probes.Server{srv}, Selection: selection(t, "stun.udp"),
		Options: optionLayer("repeat", "50", "stun_count", "1", "soak_interval", "50ms")})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rep := r.ExecuteRepeated(ctx, nil, func(i int, _ report.Report) {
		if i == 2 {
			cancel()
		}
	})
	if n := len(rep.Repeat.Iterations); n != 2 || !rep.Interrupted || rep.Repeat.Asked != 50 {
		t.Errorf("%d iterations, interrupted %v, asked %d: want the 2 done of 50, interrupted", n, rep.Interrupted, rep.Repeat.Asked)
	}
}
