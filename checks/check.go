package checks

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/probes"
)

// Check is one entry of the catalogue: what to measure, against what, and
// how to judge it.
type Check struct {
	// ID is "group.name", e.g. "stun.udp".
	ID          string
	Title       string
	Description string
	// Metrics names what the check reports, for `rtcprobe list` and the
	// table (the first ones are the key metrics shown).
	Metrics []string
	// Sometimes names the declared metrics reported only in some runs,
	// each with when ("over TCP", "with broadcast_ramp"): the README and
	// `rtcprobe list` say so, and the metric contract (contract.go) does
	// not expect them of every run.
	Sometimes map[string]string
	// Timeout bounds one run of the check (the plan may override it).
	Timeout time.Duration
	// TimeoutFor, when set, replaces Timeout with one that depends on the
	// plan (the media checks last as long as --media-duration asks).
	TimeoutFor func(p *Plan) time.Duration
	// Exclusive checks run alone, after the others: what they measure
	// (throughput) would otherwise include the CPU the other checks use.
	Exclusive bool
	// OptIn checks run only when asked for by name (their group, a
	// prefix or their ID): never through "*" or another glob, so the
	// default run and the ci profile leave them out (TURN load, the
	// interop matrix: too long for every run).
	OptIn bool
	// Serial, when set, names what a run of this subject holds that other
	// runs may not share (a TURN user's allocation quota): runs with the
	// same non-empty key, of any check, go one after another.
	Serial func(s Subject) string
	// Page is the browser page check a browser check runs (browser.Page*):
	// the runner starts the subject's browser, and takes its camera when
	// the page captures, before the check's slot and deadline
	// (schedule.go).
	Page string
	// Takes is about how long the check's work lasts on a quiet machine:
	// the runner starts the longest first (schedule.go).
	Takes time.Duration
	// Subjects expands the check into the runs the plan asks for; none
	// means the check does not apply (no server of its kind).
	Subjects func(p *Plan) []Subject
	// Run measures one subject. It must return by ctx's deadline.
	Run func(ctx context.Context, s Subject, p *Plan) probes.Measurement
	// Thresholds in force; the plan may replace them.
	Thresholds []Threshold
	// Advice adds check-specific advice for a result that is not pass; an
	// empty answer falls back to advice on the error type.
	Advice func(r Result, m probes.Measurement) string
	// Across, when set, sees this check's results and every other once
	// the run is over, for conclusions no single result can draw (TURN
	// over UDP fails where TCP works: UDP is blocked on the path).
	Across func(mine []*Result, all []Result)
	// Remote, when set, measures the check in a browser rtcprobe does not
	// drive (the hosted pre-call page): the same page check, its result
	// posted back and judged here as Run would judge it.
	Remote *Remote
	// Needs says what a plan must name for the check to have a subject
	// ("a turn: or turns: server"), for a run that ends up checking
	// nothing.
	Needs string
}

// Group is the part of the ID before the dot.
func (c *Check) Group() string { return Group(c.ID) }

// Subject is what one run of a check is aimed at.
type Subject struct {
	// Name is shown as the result's target (never with secrets).
	Name string
	// Target is the server and transport for server checks.
	Target probes.Target
	// URL is the endpoint of URL checks (signaling). It may carry tokens:
	// never shown; Name is its redacted form.
	URL *url.URL
	// Browser is the browser a browser check runs in (for an interop
	// check, the one that offers).
	Browser *browser.Session
	// Call is the rest of an interop check's subject.
	Call *CallSubject
	// WHIP and WHEP are the media server endpoints of the WHIP/WHEP and
	// broadcast checks (tokens included: never shown).
	WHIP, WHEP probes.Endpoint
	// Path is a call check's: with all candidates, or relay-only through
	// Target.
	Path result.Path
	// Part names the part of a shared measurement this subject reports:
	// the peer address class of an audit row.
	Part string
	// Extra, when set, marks a diagnostic the URI did not ask for (TCP to
	// a stun: or turn: URI, which mean UDP): when it fails because the
	// server cannot be reached that way, it warns instead of failing, and
	// Extra says what that means for clients.
	Extra string
}

// Kept is what a result keeps of the subject. A browser's engine is known
// once the session has looked for its binary, which it does on creation.
func (s Subject) Kept() result.Subject {
	k := result.Subject{Target: s.Target, Path: s.Path}
	if s.Browser != nil {
		k.Engine = string(s.Browser.Engine())
	}
	return k
}

// Judge turns a measurement into a result: an error is fail (or skip when
// the probe cannot run here), otherwise the worst violated threshold wins.
func (c *Check) Judge(s Subject, m probes.Measurement, took time.Duration, thresholds []Threshold) Result {
	r := Result{
		CheckID: c.ID, Title: c.Title, Target: s.Name, Subject: s.Kept(), Status: Pass, Duration: took,
		Metrics: m.Metrics, Evidence: m.Evidence, Observations: m.Observations, Series: m.Series, Summary: m.Summary, Cause: m.Err,
	}
	r.KeyMetrics = c.KeyMetrics(m.Metrics)
	switch {
	case m.Err != nil && errors.Is(m.Err, probes.ErrUnsupported):
		r.Status, r.Error = Skip, m.Err.Error()
	case m.Err != nil && errors.Is(m.Err, errInternal):
		r.Status, r.Error = Error, m.Err.Error()
	case m.Err != nil:
		r.Status, r.Error = Fail, m.Err.Error()
	default:
		var words []string
		for _, t := range thresholds {
			v, ok := m.Metrics[t.Metric]
			if !ok || t.Holds(v) {
				continue
			}
			if t.Level.Worse(r.Status) {
				r.Status = t.Level
			}
			r.Broken = append(r.Broken, Violation{Threshold: t, Value: v})
			words = append(words, r.Broken[len(r.Broken)-1].String())
		}
		r.Error = strings.Join(words, "; ")
	}
	if o, ok := probes.ObservationOf(m.Err); ok && len(r.Observations) == 0 {
		r.Observations = []probes.Observation{o} // judged outside the runner
	}
	if m.Err != nil && r.Status == Fail {
		if d, ok := Diagnose(FamilyOf(c.ID), r.Observations); ok {
			r.Diagnosis = &d
		}
	}
	if r.Status != Pass {
		if c.Advice != nil {
			r.Advice = c.Advice(r, m)
		}
		if r.Advice == "" && r.Diagnosis != nil {
			r.Advice = r.Diagnosis.Text()
		}
	}
	if r.Status == Fail && s.Extra != "" && notOffered(m.Err) {
		r.Status, r.Advice = Warn, joinSentences(s.Extra, r.Advice)
	}
	judgeHostLoad(&r, m)
	return r
}

// KeyMetrics are the first few of the check's metrics that metrics has:
// what a one-line summary shows.
func (c *Check) KeyMetrics(metrics map[string]float64) []string {
	var out []string
	for _, name := range c.Metrics {
		if _, ok := metrics[name]; ok && len(out) < 3 {
			out = append(out, name)
		}
	}
	return out
}

// errInternal marks the tool's own faults (a panic in a probe, a probe that
// ignored its deadline); they give status error and exit code 3.
var errInternal = errors.New("internal error")
