package probes_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/internal/netsim"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

// The truth tests inject known conditions into a simulated network and
// check that the reported numbers match them, each within an allowance
// derived from what was injected (stated next to each check), never from
// what the code under test reports. They run one call at a time: on a
// busy two-core machine, concurrent calls starve each other and the
// scheduling delay shows up as jitter and RTT that were not injected.

// maxBaseline bounds the simulator's own round-trip cost, measured with a
// plain UDP echo and this process's clock (netsim.Lab.EchoRTT): larger,
// and it could hide an offset in the code under test.
const maxBaseline = 2 * time.Millisecond

// truthCall is a media call over a simulated network, with what the
// network itself measured before it.
type truthCall struct {
	m   probes.Measurement
	lab *netsim.Lab
	// base is the simulator's round trip over twice the injected delay,
	// in ms (the fastest of 40 UDP echoes).
	base float64
}

// audioOver runs the audio probe for d over a simulated network.
func audioOver(t *testing.T, ck *checker, spec string, d time.Duration) truthCall {
	t.Helper()
	s, err := netsim.ParseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	cfg, lab := simulatedLab(t, spec)
	// Behind NATs the peers cannot echo each other directly: the bound on
	// the simulator's cost stands in for its measurement there.
	tc := truthCall{lab: lab, base: msOf(maxBaseline)}
	// With jitter the fastest echo is slower than the path by the least
	// of the draws; the bound stands in there too.
	if s.NAT == [2]netsim.NAT{netsim.NATNone, netsim.NATNone} && s.Jitter == 0 {
		tc.base = simBaseline(t, ck, lab, s.Delay)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d+15*time.Second)
	defer cancel()
	tc.m = probes.Media(ctx, probes.MediaConfig{Pair: cfg, Kind: webrtc.RTPCodecTypeAudio, Duration: d})
	if tc.m.Err != nil {
		t.Fatalf("media over %q: %v", spec, tc.m.Err)
	}
	return tc
}

// simBaseline is the lab's fastest plain-UDP round trip minus twice the
// one-way delay, in ms, held under maxBaseline.
func simBaseline(t *testing.T, ck *checker, lab *netsim.Lab, oneWay time.Duration) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rtts, err := lab.EchoRTT(ctx, 40, 5*time.Millisecond)
	if err != nil || len(rtts) == 0 {
		t.Fatalf("UDP echo across the lab: %d echoes, %v", len(rtts), err)
	}
	base := slices.Min(rtts) - 2*oneWay
	if base < 0 || base > maxBaseline {
		ck.failf("the simulator's own round trip is %s over the injected %s: want 0..%s", base, 2*oneWay, maxBaseline)
	}
	return msOf(base)
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func metric(m probes.Measurement, name string) float64 {
	if v, ok := m.Metrics[name]; ok {
		return v
	}
	return math.NaN()
}

// rttAllowance is what an RTT may differ from the path's: 1.5 ms and 1 %
// of the round trip for the protocol stack and timer wake-ups.
func rttAllowance(rtt float64) float64 { return 1.5 + 0.01*rtt }

// medianAllowance is the extra above the path a median may carry: on a
// loaded two-core machine every round trip waits for a CPU at a dozen
// goroutine hand-offs; more than half of them waiting more than
// 5 ms + 10 % is a wrong number, not load.
func medianAllowance(rtt float64) float64 { return 5 + 0.1*rtt }

// TestTruthRTT: twice the injected one-way delay, plus the simulator's
// own round trip (measured independently and bounded), is what every RTT
// of the call reports: the fastest RTCP round trip within ±(1.5 ms + 1 %),
// the RTCP median and the ICE (STUN consent) median no lower than that
// and at most 5 ms + 10 % above.
func TestTruthRTT(t *testing.T) {
	testenv.CheckGoroutines(t)
	for _, oneWay := range []time.Duration{10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond} {
		t.Run(oneWay.String(), func(t *testing.T) {
			t.Parallel()
			attempt(t, func(ck *checker) {
				c := audioOver(t, ck, "delay="+oneWay.String(), 3*time.Second)
				want := 2*msOf(oneWay) + c.base
				t.Logf("path %.3f ms (2 x %s + %.3f simulator), %v RTCP samples", want, oneWay, c.base, metric(c.m, "rtt_samples"))
				a := rttAllowance(want)
				ck.within("rtt_min_ms", metric(c.m, "rtt_min_ms"), want-a, want+a, "fastest RTCP round trip: the path ± 1.5 ms + 1 %")
				ck.within("rtt_ms", metric(c.m, "rtt_ms"), want-a, want+a+medianAllowance(want), "RTCP median: the path, + load")
				ck.within("ice_rtt_ms", metric(c.m, "ice_rtt_ms"), want-a, want+a+medianAllowance(want), "ICE RTT median: the path, + load")
			})
		})
	}
}

// TestTruthLossAndMOS: the call's loss is what the network dropped, and
// its R-factor and MOS are the E-model's (ITU-T G.107) at that loss and
// the injected delay. The simulator drops evenly within each flow and
// counts the RTP it passed and dropped (S sent, D dropped); the receiver
// cannot see drops before its first or after its last packet, so loss_pct
// is within [(D-3)/(S-3), D/S] — with 8 s (400 packets) at 2 % that is
// 1.26..2.0 and at 3 % 2.27..3.0: 2 % and 3 % are told apart. R and MOS
// must lie where the E-model puts them over that loss range and a
// mouth-to-ear delay of the one-way delay + one 20 ms Opus frame + twice
// a jitter of at most jitterNoise.
func TestTruthLossAndMOS(t *testing.T) {
	testenv.CheckGoroutines(t)
	for _, tc := range []struct {
		spec     string
		oneWay   float64 // ms
		loss     float64 // %
		relayed  bool
		duration time.Duration
	}{
		{"delay=20ms", 20, 0, false, 3 * time.Second},
		{"delay=20ms,loss=2%", 20, 2, false, 8 * time.Second},
		{"delay=20ms,loss=3%", 20, 3, false, 8 * time.Second},
		{"delay=20ms,loss=5%", 20, 5, false, 4 * time.Second},
		{"delay=20ms,loss=20%", 20, 20, false, 4 * time.Second},
		// Past Ta = 100 ms the delay impairment Idd counts too.
		{"delay=150ms", 150, 0, false, 3 * time.Second},
		// A TURN call over a lossy network: symmetric NATs force the relay.
		{"delay=20ms,loss=5%,nat=symmetric", 20, 5, true, 4 * time.Second},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			t.Parallel()
			attempt(t, func(ck *checker) {
				c := audioOver(t, ck, tc.spec, tc.duration)
				if got := metric(c.m, "selected_relay"); got != map[bool]float64{false: 0, true: 1}[tc.relayed] {
					ck.failf("selected_relay = %v, want relayed %v", got, tc.relayed)
				}
				passed, dropped := c.lab.RTPCounts()
				sent := passed + dropped
				// The simulator itself drops the asked-for share, ±1 packet.
				if got := float64(dropped) / float64(sent) * 100; math.Abs(got-tc.loss) > 100/float64(sent)+1e-9 {
					t.Fatalf("the simulator dropped %d of %d RTP packets (%.2f%%), want %v%%", dropped, sent, got, tc.loss)
				}
				lo := math.Max(0, float64(dropped-3)/float64(sent-3)*100)
				hi := float64(dropped) / float64(sent) * 100
				ck.within("loss_pct", metric(c.m, "loss_pct"), lo-1e-3, hi+1e-3, fmt.Sprintf("the simulator dropped %d of %d", dropped, sent))
				ck.within("packets_received", metric(c.m, "packets_received"), float64(passed-3), float64(passed), "what the simulator passed")

				taLo := tc.oneWay + 20
				taHi := tc.oneWay + c.base/2 + 20 + 2*jitterNoise
				rLo, _ := g107(taHi, hi)
				rHi, _ := g107(taLo, lo)
				ck.within("r_factor", metric(c.m, "r_factor"), rLo-0.01, rHi+0.01, fmt.Sprintf("G.107 at Ta %.0f..%.0f ms, loss %.2f..%.2f %%", taLo, taHi, lo, hi))
				ck.within("mos", metric(c.m, "mos"), g107MOS(rLo)-0.01, g107MOS(rHi)+0.01, "G.107 Annex B of that R")
			})
		})
	}
}

// jitterNoise is the interarrival jitter a loaded machine adds to a call
// with none injected (goroutine wake-ups of sender, simulator and
// receiver), in ms.
const jitterNoise = 2.0

// g107 is the E-model of ITU-T G.107 for the parameters a call varies:
// R = 93.2 - Idd(Ta) - Ie,eff(Ppl) with every other parameter at its
// default, echo cancelled, A = 0, and Opus at G.711-with-PLC's Ie = 0,
// Bpl = 25.1 (G.113 Appendix I), random loss (BurstR = 1). It is written
// here from the recommendation, apart from probes/emodel.go, so that the
// call is held to the standard rather than to the code it tests; the
// reference points in emodel_test.go pin both.
func g107(ta, ppl float64) (r, mos float64) {
	var idd float64
	if ta > 100 {
		x := math.Log2(ta / 100)
		idd = 25 * (math.Pow(1+math.Pow(x, 6), 1.0/6) - 3*math.Pow(1+math.Pow(x/3, 6), 1.0/6) + 2)
	}
	ieEff := 95 * ppl / (ppl + 25.1)
	r = 93.2 - idd - ieEff
	return r, g107MOS(r)
}

// g107MOS is G.107 Annex B's MOS for R.
func g107MOS(r float64) float64 {
	switch {
	case r <= 0:
		return 1
	case r >= 100:
		return 4.5
	}
	return 1 + 0.035*r + r*(r-60)*(100-r)*7e-6
}
