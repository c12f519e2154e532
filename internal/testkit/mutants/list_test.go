package mutants

// mutant is one deliberately wrong variant: Old, found exactly once in
// File, becomes New; the tests Run matches in Pkg must then fail.
type mutant struct {
	Name     string
	File     string // relative to the module root
	Old, New string
	Pkg      string // package whose tests catch it
	Run      string // go test -run pattern of the catching tests
}

// mutants: the ten of issue "truth tests that bite" first, then one or
// more for each metric the truth tests hold.
var mutants = []mutant{
	{
		Name: "media loss_pct doubled",
		File: "probes/media.go",
		Old:  `m.SetMetric("loss_pct", lossPct(recv.PacketsReceived, recv.PacketsLost))`,
		New:  `m.SetMetric("loss_pct", 2*lossPct(recv.PacketsReceived, recv.PacketsLost))`,
		Pkg:  "./probes", Run: `^TestTruthLossAndMOS$/^delay=20ms,loss=2%$`,
	},
	{
		Name: "RTCP RTT halved",
		File: "probes/media.go",
		Old:  `time.Duration(float64(units)/65536*float64(time.Second))`,
		New:  `time.Duration(float64(units)/65536*float64(time.Second)/2)`,
		Pkg:  "./probes", Run: `^TestTruthRTT$/^25ms$`,
	},
	{
		Name: "MOS a constant 4.2",
		File: "probes/media.go",
		Old:  `m.SetMetric("mos", round3(MOSFromR(r)))`,
		New:  `m.SetMetric("mos", 4.2)`,
		Pkg:  "./probes", Run: `^TestTruthLossAndMOS$/^delay=20ms$`,
	},
	{
		Name: "MOS a constant 4.4",
		File: "probes/media.go",
		Old:  `m.SetMetric("mos", round3(MOSFromR(r)))`,
		New:  `m.SetMetric("mos", 4.4)`,
		Pkg:  "./probes", Run: `^TestTruthLossAndMOS$/^delay=20ms,loss=5%$`,
	},
	{
		Name: "MOS from loss as a fraction instead of a percentage",
		File: "probes/media.go",
		Old:  `r := RFactor(ta, m.Metrics["loss_pct"], CodecOpus)`,
		New:  `r := RFactor(ta, m.Metrics["loss_pct"]/100, CodecOpus)`,
		Pkg:  "./probes", Run: `^TestTruthLossAndMOS$/^delay=20ms,loss=5%$`,
	},
	{
		Name: "10 ms added to every RTCP RTT",
		File: "probes/media.go",
		Old:  `time.Duration(float64(units)/65536*float64(time.Second))`,
		New:  `time.Duration(float64(units)/65536*float64(time.Second))+10*time.Millisecond`,
		Pkg:  "./probes", Run: `^TestTruthRTT$/^100ms$`,
	},
	{
		Name: "jitter doubled",
		File: "probes/media.go",
		Old:  `m.SetMetric("jitter_ms", rx.JitterMs())`,
		New:  `m.SetMetric("jitter_ms", 2*rx.JitterMs())`,
		Pkg:  "./probes", Run: `^TestTruthJitter$/^20ms$`,
	},
	{
		Name: "media ice_rtt_ms doubled",
		File: "probes/media.go",
		Old:  `m.SetMetric("ice_rtt_ms", round3(ice.Median()))`,
		New:  `m.SetMetric("ice_rtt_ms", round3(2*ice.Median()))`,
		Pkg:  "./probes", Run: `^TestTruthRTT$/^25ms$`,
	},
	{
		Name: "LossPct returns 0",
		File: "probes/stats.go",
		Old:  `return math.Round(float64(sent-received)/float64(sent)*10000) / 100`,
		New:  `return 0`,
		Pkg:  "./probes", Run: `^TestLossPct$`,
	},
	{
		Name: "STUN RTT doubled",
		File: "probes/stun.go",
		Old:  `rtts = append(rtts, time.Since(sent))`,
		New:  `rtts = append(rtts, 2*time.Since(sent))`,
		Pkg:  "./probes", Run: `^TestTruthServerRTT$/^10ms$`,
	},
	{
		Name: "repeated relay gaps counted as one",
		File: "probes/turn.go",
		Old: `case n >= 2:
			runs, n = runs+1, 0`,
		New: `case n >= 2:
			runs, n = 1, 0`,
		Pkg: "./probes", Run: `^TestLossRuns$`,
	},
	{
		Name: "ICMP admin prohibited read as the host's own port unreachable",
		File: "probes/icmp_errqueue.go",
		Old:  `return r.Type == 3 && (r.Code == 9 || r.Code == 10 || r.Code == 13)`,
		New:  `return r.Type == 3 && (r.Code == 9 || r.Code == 10)`,
		Pkg:  "./checks", Run: `^TestDiagnosisTable$`,
	},
	{
		Name: "a DNS failure reported as a timeout",
		File: "probes/dial.go",
		Old:  `return "", &DNSError{Host: host, Err: err}`,
		New:  `return "", &TimeoutError{Addr: host, Transport: t.Transport, Stage: "DNS lookup", After: time.Since(start)}`,
		Pkg:  "./probes", Run: `^TestSTUNDNSFailure$`,
	},
	// One or more for each metric the truth tests hold.
	{
		Name: "RTCP median halved (one way for a round trip)",
		File: "probes/media.go",
		Old:  `m.SetMetric("rtt_ms", round3(samples.Median()))`,
		New:  `m.SetMetric("rtt_ms", round3(samples.Median()/2))`,
		Pkg:  "./probes", Run: `^TestTruthRTT$/^25ms$`,
	},
	{
		Name: "per-second jitter samples doubled",
		File: "probes/media.go",
		Old:  `"jitter_ms":        rx.JitterMs(),`,
		New:  `"jitter_ms":        2 * rx.JitterMs(),`,
		Pkg:  "./probes", Run: `^TestTruthJitter$/^20ms$`,
	},
	{
		Name: "jitter from transit deltas of the RTP clock read as 8 kHz",
		File: "probes/rtpreceiver.go",
		Old:  `clock := float64(tr.Codec().ClockRate)`,
		New:  `clock := float64(8000)`,
		Pkg:  "./probes", Run: `^TestTruthJitter$/^0s$`,
	},
	{
		Name: "RTP timestamp difference taken unsigned (reordered first packet)",
		File: "probes/rtpreceiver.go",
		Old:  `float64(int32(ts-r.firstTS))/clock`,
		New:  `float64(ts-r.firstTS)/clock`,
		Pkg:  "./probes", Run: `^TestReceiverJitter$`,
	},
	{
		Name: "mouth-to-ear delay from the whole RTT",
		File: "probes/emodel.go",
		Old:  `return float64(rtt/2+2*jitter+c.Frame) / float64(time.Millisecond)`,
		New:  `return float64(rtt+2*jitter+c.Frame) / float64(time.Millisecond)`,
		Pkg:  "./probes", Run: `^TestTruthLossAndMOS$/^delay=150ms$`,
	},
	{
		Name: "R-factor reported 5 points high",
		File: "probes/media.go",
		Old:  `m.SetMetric("r_factor", round3(r))`,
		New:  `m.SetMetric("r_factor", round3(r+5))`,
		Pkg:  "./probes", Run: `^TestTruthLossAndMOS$/^delay=20ms,loss=5%$`,
	},
	{
		Name: "loss counted from the sender's packets only",
		File: "probes/media.go",
		Old:  `m.SetMetric("packets_received", float64(recv.PacketsReceived))`,
		New:  `m.SetMetric("packets_received", float64(out.OutboundRTPStreamStats.PacketsSent))`,
		Pkg:  "./probes", Run: `^TestTruthLossAndMOS$/^delay=20ms,loss=5%$`,
	},
	{
		Name: "TURN relayed RTT doubled",
		File: "probes/turn.go",
		Old:  `rtt := time.Since(base) - time.Duration(binary.BigEndian.Uint64(p[12:20]))`,
		New:  `rtt := 2 * (time.Since(base) - time.Duration(binary.BigEndian.Uint64(p[12:20])))`,
		Pkg:  "./probes", Run: `^TestTruthServerRTT$/^10ms$`,
	},
	{
		Name: "data channel throughput in bytes, not bits",
		File: "probes/datachannel.go",
		Old:  `round3(float64(received)*8/took.Seconds()/1e6)`,
		New:  `round3(float64(received)/took.Seconds()/1e6)`,
		Pkg:  "./probes", Run: `^TestTruthDataChannel$/^delay=10ms,rate=4mbit$`,
	},
	{
		Name: "data channel open time counted from the start of connecting",
		File: "probes/datachannel.go",
		Old:  `m.SetMetric("open_ms", ms(max(0, openAt.Sub(connected))))`,
		New:  `m.SetMetric("open_ms", ms(max(0, openAt.Sub(connected)+p.Timings.Total)))`,
		Pkg:  "./probes", Run: `^TestTruthDataChannel$/^delay=10ms,rate=4mbit$`,
	},
	{
		Name: "data channel echo RTT halved",
		File: "probes/datachannel.go",
		Old:  `rtts = append(rtts, time.Since(sent))`,
		New:  `rtts = append(rtts, time.Since(sent)/2)`,
		Pkg:  "./probes", Run: `^TestTruthDataChannel$/^delay=10ms,rate=4mbit$`,
	},
	{
		Name: "simulated jitter drawn once for the whole queue",
		File: "internal/netsim/link.go",
		Old:  `due = due.Add(time.Duration(e.rng.Int64N(int64(e.jitter) + 1)))`,
		New:  `due = due.Add(time.Duration(int64(e.jitter) / 2))`,
		Pkg:  "./internal/netsim", Run: `^TestEgressJitterIsUniformPerDatagram$`,
	},
}
