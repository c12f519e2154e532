package probes

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// MediaServerConfig sets up a WHIP/WHEP probe.
type MediaServerConfig struct {
	// WHIP is where to publish; WHEP where to play (either may be unset
	// when the probe does not use it).
	WHIP, WHEP Endpoint
	HTTP       HTTPConfig
	// Duration is how long media is sent (default 5s).
	Duration time.Duration
}

func (c *MediaServerConfig) duration() time.Duration {
	if c.Duration <= 0 {
		return 5 * time.Second
	}
	return c.Duration
}

// WHIPPublish publishes the embedded Opus and VP8 clips to the WHIP
// endpoint at real-time pace and ends the session: POST offer → 201 with
// Location (ETag and Link ICE servers when given, the servers used for
// the call), trickle PATCH (405/501: no trickle, not a failure), media,
// DELETE → 200. Metrics: post_ms, connect_ms, link_ice_servers, trickle,
// packets_sent, bitrate_kbps, rtcp_loss_pct and rtt_ms (from the
// server's RTCP receiver reports).
func WHIPPublish(ctx context.Context, cfg MediaServerConfig) Measurement {
	var m Measurement
	pub, err := startPublisher(ctx, cfg.WHIP, cfg.HTTP)
	if err != nil {
		m.Err = err
		return m
	}
	d, ok := mediaTime(ctx, cfg.duration(), 1500*time.Millisecond)
	if !ok {
		_ = pub.stop(ctx)
		m.Err = noTimeError(time.Since(pub.start))
		return m
	}
	pub.record0(&m)
	if err := pub.play(ctx, d); err != nil {
		m.Err = &ConnectError{Stage: StageMedia, Err: fmt.Errorf("sending stopped: %w", err), After: time.Since(pub.start)}
	}
	// The last receiver reports trail the media by up to one interval.
	sleepCtx(ctx, drainWait)
	pub.record(&m)
	recordEnd(ctx, &m, pub.stop(ctx))
	return m
}

// recordEnd records how ending a session went: a DELETE the server did
// not answer with 2xx leaves the session on the server until it times
// out, which is the server's fault, not the media's (delete_failed, the
// DELETE as a step of the record).
func recordEnd(ctx context.Context, m *Measurement, err error) {
	if err == nil {
		return
	}
	var he *HTTPSessionError
	if !errors.As(err, &he) || he.Stage != StageDelete {
		if m.Err == nil {
			m.Err = err
		}
		return
	}
	m.SetMetric("delete_failed", 1)
	m.AddEvidence("delete", err.Error())
	if o, ok := ObservationOf(err); ok {
		Observe(ctx, o)
	}
}

// record0 records what is known once connected.
func (p *publisher) record0(m *Measurement) { p.httpPeer.record(m, "") }

// WHEPPlay plays the WHEP endpoint for the media duration: with a WHIP
// endpoint, rtcprobe publishes its own clips there first, so there is
// something to play. Metrics: post_ms, connect_ms, first_frame_ms (POST
// to the first complete video frame), loss_pct, jitter_ms (audio, RFC
// 3550), fps, bitrate_kbps and packets_received.
func WHEPPlay(ctx context.Context, cfg MediaServerConfig) Measurement {
	return play(ctx, cfg, false)
}

// WHIPLoopback publishes via WHIP and plays the same stream back via
// WHEP: what WHEPPlay measures, plus the end-to-end delay through the
// server (delay_ms and its p95/max: each Opus frame's arrival matched by
// payload to when it was sent) and the publisher's side (publish_rtt_ms,
// publish_rtcp_loss_pct, publish_bitrate_kbps).
func WHIPLoopback(ctx context.Context, cfg MediaServerConfig) Measurement {
	return play(ctx, cfg, true)
}

func play(ctx context.Context, cfg MediaServerConfig, loopback bool) Measurement {
	var (
		m   Measurement
		pub *publisher
		err error
	)
	playCtx, stopPlay := context.WithCancel(ctx)
	defer stopPlay()
	played := make(chan error, 1)
	if cfg.WHIP.URL != nil {
		if pub, err = startPublisher(ctx, cfg.WHIP, cfg.HTTP); err != nil {
			m.Err = err
			return m
		}
		go func() { played <- pub.play(playCtx, 0) }()
	}
	var sent *sendLog
	if loopback && pub != nil {
		sent = pub.sent
	}
	v, err := startViewer(ctx, cfg.WHEP, cfg.HTTP, sent)
	if err != nil {
		stopPlay()
		if pub != nil {
			<-played
			_ = pub.stop(ctx)
		}
		m.Err = err
		return m
	}
	v.record(&m, "")
	d, ok := mediaTime(ctx, cfg.duration(), 1500*time.Millisecond)
	if ok {
		sleepCtx(ctx, d)
	}
	stopPlay()
	if pub != nil {
		if err := <-played; err != nil {
			m.Err = &ConnectError{Stage: StageMedia, Err: fmt.Errorf("publishing stopped: %w", err), After: time.Since(v.start)}
		}
		sleepCtx(ctx, drainWait)
	}
	st := v.stats(time.Now())
	if err := recordViewer(&m, st); err != nil && m.Err == nil {
		m.Err = &ConnectError{Stage: StageMedia, Err: err, After: time.Since(v.start)}
	}
	if !ok && m.Err == nil {
		m.Err = noTimeError(time.Since(v.start))
	}
	if loopback {
		v.mu.Lock()
		delays := v.delays
		v.mu.Unlock()
		if len(delays) > 0 {
			m.SetMetric("delay_ms", round3(delays.Median()))
			m.SetMetric("delay_p95_ms", delays.Percentile(95))
			m.SetMetric("delay_max_ms", delays.Percentile(100))
			m.SetMetric("delay_samples", float64(len(delays)))
		} else if m.Err == nil {
			m.AddEvidence("delay", "no received audio frame could be matched to a sent one: the server changes the payloads (transcoding?)")
		}
	}
	recordEnd(ctx, &m, v.stop(ctx))
	if pub != nil {
		var pm Measurement
		pub.record(&pm)
		for _, k := range []string{"rtt_ms", "rtcp_loss_pct", "packets_sent", "bitrate_kbps"} {
			if val, ok := pm.Metrics[k]; ok {
				m.SetMetric("publish_"+k, val)
			}
		}
		recordEnd(ctx, &m, pub.stop(ctx))
	}
	return m
}

// BroadcastConfig sets up a one-to-many broadcast probe.
type BroadcastConfig struct {
	MediaServerConfig
	// Viewers is how many play at once (default 10).
	Viewers int
	// Ramp, when set, plays rising viewer counts (1, 2, 4, … up to
	// Viewers) and stops at the first step Held says did not hold.
	Ramp bool
	// Held judges a step's measurement (the checks' thresholds); nil
	// means every step holds.
	Held func(Measurement) bool
	// SetupConcurrency bounds how many viewers negotiate at once
	// (default 8): a burst of 50 POSTs is a test of its own.
	SetupConcurrency int
}

// Broadcast publishes once via WHIP and has many viewers play via WHEP
// at the same time; per-viewer first-frame time, loss, jitter, fps and
// bitrate are summarised across viewers (p50/p95/max; p50/p5/min for
// fps and bitrate). With Ramp, each step is a sample in the series and
// viewers_held is the largest count whose step held (0: none).
func Broadcast(ctx context.Context, cfg BroadcastConfig) Measurement {
	var m Measurement
	if cfg.Viewers <= 0 {
		cfg.Viewers = 10
	}
	if cfg.SetupConcurrency <= 0 {
		cfg.SetupConcurrency = 8
	}
	pub, err := startPublisher(ctx, cfg.WHIP, cfg.HTTP)
	if err != nil {
		m.Err = err
		return m
	}
	playCtx, stopPlay := context.WithCancel(ctx)
	played := make(chan error, 1)
	go func() { played <- pub.play(playCtx, 0) }()
	defer func() {
		stopPlay()
		<-played
		_ = pub.stop(ctx)
	}()
	pub.httpPeer.record(&m, "publish_")
	steps := []int{cfg.Viewers}
	if cfg.Ramp {
		steps = RampSteps(cfg.Viewers)
	}
	r := ramp{steps: steps, on: cfg.Ramp, held: cfg.Held, unit: "viewers", why: "quality past the thresholds"}
	r.run(ctx, &m, func(i, n int) (Measurement, bool, error) {
		// Each step gets an equal share of the time left, keeping a
		// reserve for set-up and teardown.
		d := cfg.duration()
		if dl, ok := ctx.Deadline(); ok {
			d = min(d, (time.Until(dl)-4*time.Second)/time.Duration(len(steps)-i)-2*time.Second)
		}
		if d < 500*time.Millisecond {
			if i == 0 {
				m.Err = noTimeError(time.Since(pub.start))
			} else {
				m.AddEvidence("ramp", fmt.Sprintf("stopped before %d viewers: no time left before the deadline", n))
			}
			return Measurement{}, true, nil
		}
		sm, err := broadcastStep(ctx, cfg, pub, n, d)
		return sm, false, err
	})
	var pm Measurement
	pub.record(&pm)
	for _, k := range []string{"rtt_ms", "rtcp_loss_pct"} {
		if v, ok := pm.Metrics[k]; ok {
			m.SetMetric("publish_"+k, v)
		}
	}
	return m
}

// summariseViewers writes the connected viewers' figures across them:
// first-frame time, loss and jitter as p50/p95/max, fps and bitrate as
// p50/p5/min (less is worse). A viewer that received nothing counts as
// 100 % loss and adds to viewers_silent; one without video plays at 0
// fps. It returns the silent viewers.
func summariseViewers(m *Measurement, stats []ViewerStats) (silent int) {
	var first, loss, jitter, fps, rate Values
	for _, s := range stats {
		if s.Packets == 0 {
			silent++
			loss = append(loss, 100)
			continue
		}
		first = append(first, ms(s.FirstFrame))
		loss = append(loss, s.LossPct)
		jitter = append(jitter, s.JitterMs)
		rate = append(rate, s.BitrateKbps)
		if s.Video {
			fps = append(fps, s.FPS)
		} else {
			fps = append(fps, 0)
		}
	}
	m.SetMetric("viewers_silent", float64(silent))
	first.Record(m, "first_frame_ms", false)
	loss.Record(m, "loss_pct", false)
	jitter.Record(m, "jitter_ms", false)
	fps.Record(m, "fps", true)
	rate.Record(m, "bitrate_kbps", true)
	return silent
}

// RampSteps are the viewer counts of a ramp: 1, 2, 4, … below max, then
// max.
func RampSteps(max int) []int {
	var out []int
	for n := 1; n < max; n *= 2 {
		out = append(out, n)
	}
	return append(out, max)
}

// broadcastStep runs n viewers at once for d and summarises them.
func broadcastStep(ctx context.Context, cfg BroadcastConfig, pub *publisher, n int, d time.Duration) (Measurement, error) {
	var (
		m       Measurement
		mu      sync.Mutex
		viewers []*viewer
		errs    []error
		wg      sync.WaitGroup
		sem     = make(chan struct{}, cfg.SetupConcurrency)
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			v, err := startViewer(ctx, cfg.WHEP, cfg.HTTP, nil)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			viewers = append(viewers, v)
		}()
	}
	wg.Wait()
	defer func() {
		var sw sync.WaitGroup
		for _, v := range viewers {
			sw.Add(1)
			go func() { defer sw.Done(); _ = v.stop(ctx) }()
		}
		sw.Wait()
	}()
	m.SetMetric("viewers", float64(n))
	m.SetMetric("viewers_connected", float64(len(viewers)))
	if len(viewers) > 0 {
		viewers[0].record(&m, "viewer_")
	}
	if len(errs) > 0 {
		m.AddEvidence("viewer_error", fmt.Sprintf("%d of %d viewers failed; the first: %v", len(errs), n, errs[0]))
	}
	sleepCtx(ctx, d)
	now := time.Now()
	stats := make([]ViewerStats, len(viewers))
	for i, v := range viewers {
		stats[i] = v.stats(now)
	}
	silent := summariseViewers(&m, stats)
	m.Evidence = append([]Evidence{{Name: "viewers", Value: fmt.Sprintf("%d of %d connected, %d received media", len(viewers), n, len(viewers)-silent)}}, m.Evidence...)
	switch {
	case len(viewers) == 0:
		return m, fmt.Errorf("no viewer connected: %w", errs[0])
	case len(errs) > 0:
		return m, &ConnectError{Stage: StageMedia, Err: fmt.Errorf("%d of %d viewers could not play: %w", len(errs), n, errs[0])}
	case silent > 0:
		return m, &ConnectError{Stage: StageMedia, Err: fmt.Errorf("%d of %d viewers connected but received nothing", silent, n)}
	}
	return m, nil
}
