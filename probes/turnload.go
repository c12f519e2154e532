package probes

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// LoadConfig sets up a TURN capacity run.
type LoadConfig struct {
	// Calls is how many relayed calls run at once (at the last step).
	Calls int
	// Duration is how long each step's calls send.
	Duration time.Duration
	// Interval is the time between a call's packets in each direction
	// (default 20ms: one Opus frame).
	Interval time.Duration
	// PacketSize is the relayed payload in bytes (default 120: an Opus
	// frame at about 40 kbit/s with its RTP header; 1200 is a video
	// packet).
	PacketSize int
	// Ramp, when set, runs rising call counts (10, 20, 40, … up to
	// Calls) and stops at the first step Held says did not hold.
	Ramp bool
	// Held judges one step's measurement (the checks' thresholds); nil
	// means every step holds.
	Held func(Measurement) bool
	// SetupConcurrency bounds allocations in flight (default 16).
	SetupConcurrency int
	// Shard, when set, runs only this process's share of every step's
	// calls (Shard.Share); Calls and the steps stay the whole run's.
	Shard Shard
	// StartAt, when set, is when the first step begins; step i begins
	// at StartAt plus the slots (LoadStepSlot) of the steps before it, so
	// the steps of shards on different machines line up.
	StartAt time.Time
}

func (c LoadConfig) withDefaults() LoadConfig {
	if c.Calls <= 0 {
		c.Calls = 10
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Interval <= 0 {
		c.Interval = 20 * time.Millisecond
	}
	if c.PacketSize < loadHeaderSize {
		c.PacketSize = 120
	}
	if c.SetupConcurrency <= 0 {
		c.SetupConcurrency = 16
	}
	return c
}

// LoadSteps are the call counts of a ramp: 10, 20, 40, … below max, then
// max (max alone when it is 10 or fewer).
func LoadSteps(max int) []int {
	var out []int
	for n := 10; n < max; n *= 2 {
		out = append(out, n)
	}
	return append(out, max)
}

// TURNLoad runs concurrent relayed calls through one TURN server: each
// call is two allocations that send RTP-sized packets to each other's
// relayed address at real pace, both ways, for the duration. Metrics:
// calls, calls_ok, alloc_success_pct, alloc_p50/p95/p99_ms, per-call loss
// (loss_p50/p95/max_pct, loss_pct pooled over all calls), per-call jitter
// (jitter_p50/p95/max_ms, RFC 3550 from the packets' send times),
// relayed_pps (packets per second that arrived), packets_sent,
// packets_received, and the generator's own CPU (generator_cpu_pct, 100
// is one core busy; cores): when the generator is near its cores' limit,
// loss is rtcprobe's, not the server's. With Ramp each step is a sample
// of the series, and calls_held is the largest count whose step held.
// The Summary is a *LoadSummary: every step's totals and histograms, the
// percentiles' source, which the shards of a run merge into the fleet's.
func TURNLoad(ctx context.Context, t Target, cfg LoadConfig) Measurement {
	cfg = cfg.withDefaults()
	var m Measurement
	steps := []int{cfg.Calls}
	if cfg.Ramp {
		steps = LoadSteps(cfg.Calls)
	}
	sum := &LoadSummary{Run: LoadRun{Shard: cfg.Shard.Index, Shards: max(1, cfg.Shard.Count), Calls: cfg.Calls, Ramp: cfg.Ramp,
		DurationMS: ms(cfg.Duration), IntervalMS: ms(cfg.Interval), PacketSize: cfg.PacketSize, Thresholds: []string{}}}
	var notes []Evidence
	slot := cfg.StartAt
	if !slot.IsZero() {
		at := slot.UTC()
		sum.Run.StartAt = &at
		if late := time.Since(slot); late > 0 {
			notes = append(notes, Evidence{Name: "start_at", Value: fmt.Sprintf("%s had passed %s before the run: it started at once", at.Format(time.RFC3339), late.Round(time.Millisecond))})
			// The steps' slots count from now: else every step would
			// seem to have been overrun by the one before.
			slot = time.Now()
		}
	}
	// A shard's steps run whatever its part measured: whether a step
	// held is the fleet's to say, once the shards' reports are merged.
	r := ramp{steps: steps, on: cfg.Ramp, held: cfg.Held, unit: "calls", why: "loss, jitter or allocations past the thresholds", all: cfg.Shard.Sharded()}
	r.run(ctx, &m, func(i, n int) (Measurement, bool, error) {
		if !slot.IsZero() {
			// Every shard begins step i at the same time: the start plus
			// the slots of the steps before it.
			if !sleepCtx(ctx, time.Until(slot)) {
				return Measurement{}, true, nil
			}
			if late := time.Since(slot); i > 0 && late > time.Second {
				notes = append(notes, Evidence{Name: "step_late", Value: fmt.Sprintf("the step of %d calls began %s after its slot: the one before overran it", n, late.Round(time.Millisecond))})
			}
			slot = slot.Add(LoadStepSlot(n, cfg.Duration))
		}
		sm, st, err := loadStep(ctx, t, cfg, cfg.Shard.Share(n), n)
		sum.Steps = append(sum.Steps, st)
		return sm, false, err
	})
	if len(sum.Steps) == 0 && m.Err == nil {
		m.Err = fmt.Errorf("the run ended before its first step: %w", context.Cause(ctx))
	}
	m.Evidence = append(notes, m.Evidence...)
	if cfg.Shard.Sharded() {
		m.AddEvidence("shard", fmt.Sprintf("shard %s: this report holds this process's share of every step's calls; "+
			"rtcprobe merge of all %d shards' reports gives the server's figures", cfg.Shard, cfg.Shard.Count))
	}
	m.Summary = sum
	return m
}

// LoadStepSlot is the time a step of n calls (across all shards) has
// when the shards start together: its set-up (16 allocations at a time),
// the sending and 3 s to drain and release.
func LoadStepSlot(n int, d time.Duration) time.Duration {
	return time.Duration(n/16+1)*time.Second + d + 3*time.Second
}

// loadHeaderSize: a 12-byte RTP header (sequence number and SSRC) and the
// send time.
const loadHeaderSize = 12 + 8

// loadCall is one relayed call: two clients, each with an allocation.
type loadCall struct {
	id    uint32
	ends  [2]*turnClient
	alloc [2]allocation
	ch    [2]uint16
	// rx are each end's receive statistics.
	rx [2]loadRx
	// sent is how many packets each end sent.
	sent atomic.Int64
}

type loadRx struct {
	mu       sync.Mutex
	received int
	// seen marks the sequence numbers received: a packet the relay
	// delivers twice counts once, or duplicates would hide loss.
	seen    []bool
	jitter  float64 // RFC 3550 J in seconds
	transit float64
	have    bool
}

// add counts packet seq of the want sent; false for a duplicate or a
// sequence number never sent.
func (r *loadRx) add(seq int, sent time.Time, at time.Time, want int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = make([]bool, want)
	}
	if seq < 0 || seq >= len(r.seen) || r.seen[seq] {
		return false
	}
	r.seen[seq] = true
	transit := at.Sub(sent).Seconds()
	if r.have {
		r.jitter += (math.Abs(transit-r.transit) - r.jitter) / 16
	}
	r.transit, r.have = transit, true
	r.received++
	return true
}

// loadStep sets up n calls (this process's part of a step of fleet
// calls), runs them for the duration and releases them.
func loadStep(ctx context.Context, t Target, cfg LoadConfig, n, fleet int) (Measurement, LoadStep, error) {
	var (
		m       Measurement
		st      = newLoadStep(fleet)
		mu      sync.Mutex
		calls   []*loadCall
		failed  int
		firstEr error
		wg      sync.WaitGroup
		sem     = make(chan struct{}, cfg.SetupConcurrency)
	)
	st.Totals.Calls = n
	if n == 0 {
		m.Metrics = st.Metrics()
		m.AddEvidence("sample", fmt.Sprintf("no call of the step of %d is this shard's", fleet))
		return m, st, nil
	}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			c := &loadCall{id: uint32(i + 1)}
			var took [2]time.Duration
			var err error
			for e := range c.ends {
				start := time.Now()
				c.ends[e], c.alloc[e], _, err = dialAllocate(ctx, t, 0)
				took[e] = time.Since(start)
				mu.Lock()
				if err == nil {
					st.Alloc.Add(ms(took[e]))
				} else {
					failed++
					if firstEr == nil {
						firstEr = err
					}
				}
				mu.Unlock()
				if err != nil {
					c.close(ctx)
					return
				}
			}
			if err := c.connect(ctx); err != nil {
				mu.Lock()
				if firstEr == nil {
					firstEr = err
				}
				mu.Unlock()
				c.close(ctx)
				return
			}
			mu.Lock()
			calls = append(calls, c)
			mu.Unlock()
		}()
	}
	wg.Wait()
	st.Totals.CallsOK = len(calls)
	st.Totals.AllocsOK, st.Totals.AllocsFailed = int(st.Alloc.Count), failed
	if firstEr != nil {
		m.AddEvidence("setup_error", fmt.Sprintf("%d of %d calls not set up; the first: %v", n-len(calls), n, firstEr))
	}
	if len(calls) == 0 {
		if firstEr == nil {
			firstEr = context.Cause(ctx)
		}
		err := fmt.Errorf("no call could be set up: %w", firstEr)
		st.Error = err.Error()
		m.Metrics = st.Metrics()
		return m, st, err
	}
	d := cfg.Duration
	if dl, ok := ctx.Deadline(); ok && time.Until(dl)-2*time.Second < d {
		d = time.Until(dl) - 2*time.Second
		m.AddEvidence("sample", fmt.Sprintf("shortened to %s to fit the deadline", d.Round(100*time.Millisecond)))
	}
	cpu0, wall0 := cpuTime(), time.Now()
	runCalls(ctx, calls, cfg, d)
	if wall := time.Since(wall0); wall > 0 {
		// The generator's own load while the calls ran: near cores × 100,
		// the loss may be rtcprobe's, not the server's.
		st.Totals.GeneratorCPUPct = round3(float64(cpuTime()-cpu0) / float64(wall) * 100)
		st.Totals.Cores = runtime.NumCPU()
	}
	var got, want int
	for _, c := range calls {
		var cg, cw int
		var jit float64
		for e := range c.rx {
			r := &c.rx[e]
			r.mu.Lock()
			cg += r.received
			jit = max(jit, r.jitter)
			r.mu.Unlock()
			cw += int(c.sent.Load())
		}
		got, want = got+cg, want+cw
		if cw > 0 {
			st.Loss.Add(LossPct(cw, min(cg, cw)))
		}
		st.Jitter.Add(jit * 1000)
	}
	st.Totals.PacketsSent, st.Totals.PacketsReceived = int64(want), int64(got)
	if d > 0 {
		st.Totals.RelayedPPS = round3(float64(got) / d.Seconds())
	}
	m.Metrics = st.Metrics()
	var rel sync.WaitGroup
	for _, c := range calls {
		rel.Add(1)
		go func() { defer rel.Done(); c.close(ctx) }()
	}
	rel.Wait()
	// Calls that could not be set up are judged by the thresholds on
	// alloc_success_pct and calls_ok, not as an error.
	return m, st, nil
}

// connect opens permissions and binds a channel each way.
func (c *loadCall) connect(ctx context.Context) error {
	for e := range c.ends {
		peer := c.alloc[1-e].Relayed
		if err := c.ends[e].createPermission(ctx, peer); err != nil {
			return err
		}
		if err := c.ends[e].channelBind(ctx, firstChannel, peer); err == nil {
			c.ch[e] = firstChannel
		} else if !isSTUNError(err) {
			return err
		}
	}
	return nil
}

// close releases both allocations.
func (c *loadCall) close(ctx context.Context) {
	for _, e := range c.ends {
		if e != nil {
			releaseQuietly(ctx, e)
			_ = e.Close()
		}
	}
}

// runCalls sends from both ends of every call for d (each call's sent
// counts what one end sent: fewer than asked when ctx ends first) and
// reads what arrives.
func runCalls(ctx context.Context, calls []*loadCall, cfg LoadConfig, d time.Duration) {
	want := max(0, int(d/cfg.Interval))
	var readers sync.WaitGroup
	for _, c := range calls {
		for e, end := range c.ends {
			// The set-up's requests leave read deadlines behind.
			_ = end.conn.SetReadDeadline(time.Time{})
			readers.Add(1)
			go func() {
				defer readers.Done()
				for {
					data, err := end.readData()
					if err != nil {
						return
					}
					at := time.Now()
					p := data.Payload
					if len(p) < loadHeaderSize || binary.BigEndian.Uint32(p[8:12]) != c.id {
						continue
					}
					seq := int(binary.BigEndian.Uint16(p[2:4]))
					sent := time.Unix(0, int64(binary.BigEndian.Uint64(p[12:20]))) //nolint:gosec // our own clock's nanoseconds
					c.rx[e].add(seq, sent, at, want)
				}
			}()
		}
	}
	// One sender per call: both ends send on the same tick, offset
	// across calls so the packets do not leave in one burst.
	start := time.Now()
	var senders sync.WaitGroup
	for i, c := range calls {
		senders.Add(1)
		go func() {
			defer senders.Done()
			buf := [2][]byte{make([]byte, cfg.PacketSize), make([]byte, cfg.PacketSize)}
			offset := cfg.Interval * time.Duration(i) / time.Duration(len(calls))
			timer := time.NewTimer(offset)
			defer timer.Stop()
			for seq := 0; seq < want; seq++ {
				select {
				case <-ctx.Done():
					return
				case <-timer.C:
				}
				for e, end := range c.ends {
					b := buf[e]
					b[0], b[1] = 0x80, 111 // RTP version 2, Opus's usual payload type
					binary.BigEndian.PutUint16(b[2:4], uint16(seq))
					binary.BigEndian.PutUint32(b[4:8], uint32(seq*960))
					binary.BigEndian.PutUint32(b[8:12], c.id)
					binary.BigEndian.PutUint64(b[12:20], uint64(time.Now().UnixNano())) //nolint:gosec // positive
					_ = end.sendData(c.alloc[1-e].Relayed, c.ch[e], b)
				}
				c.sent.Add(1)
				timer.Reset(time.Until(start.Add(offset + time.Duration(seq+1)*cfg.Interval)))
			}
		}()
	}
	senders.Wait()
	// Packets in flight through the server: a loaded relay adds queueing.
	sleepCtx(ctx, 300*time.Millisecond)
	for _, c := range calls {
		for _, end := range c.ends {
			_ = end.conn.SetReadDeadline(time.Now())
		}
	}
	readers.Wait()
	for _, c := range calls {
		for _, end := range c.ends {
			_ = end.conn.SetReadDeadline(time.Time{})
		}
	}
}
