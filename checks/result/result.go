package result

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

// Result is a check's verdict on one subject.
type Result struct {
	CheckID string
	Title   string
	Target  string
	// Subject is what Target names, for rules that compare results.
	Subject  Subject
	Status   Status
	Duration time.Duration
	// Started and Ended are when the check began its work and when it
	// ended, from the run's start (the runner sets them; both zero for
	// results judged from measurements taken elsewhere). The wait before
	// Started (a runner slot, the browser's start, the camera) is not the
	// check's: its deadline starts at Started.
	Started, Ended time.Duration
	Metrics        map[string]float64
	Evidence       []probes.Evidence
	// Observations are what the probe sent and what came back, step by
	// step: what the cause is derived from.
	Observations []probes.Observation
	Series       []probes.Sample
	// Summary is the probe's typed account beyond numbers and words
	// (*browser.CallSummary, *probes.TURNSummary, …), for rules that
	// read results: they judge data, not the evidence's words.
	Summary any
	// KeyMetrics are the few metrics a one-line summary shows.
	KeyMetrics []string
	// Cause is the probe's typed error, for rules that compare results;
	// Error is the cause in words when the status is not pass.
	Cause error
	// Error is the cause in words when the status is not pass.
	Error string
	// Broken are the thresholds the measurement did not meet.
	Broken []Violation
	// Interrupted is true when the run was interrupted before the check
	// could finish (its status is then skip).
	Interrupted bool
	Advice      string
	// Diagnosis is what the observations say about a failure: its cause,
	// or the causes they leave open (nil when no row of the check's
	// family fits).
	Diagnosis *Diagnosis
	// HostSaturated is true when the thresholds broken are all ones a
	// saturated CPU moves and this machine's CPUs were saturated while
	// the check ran: the figures decide nothing about the network or the
	// browser (a fail is then a warn, and the advice says so).
	HostSaturated bool
}

// Violation is a threshold a measurement broke, with the value measured.
type Violation struct {
	Threshold
	Value float64
}

// String says it in words: "loss_pct is 3, want < 2 (warn)".
func (v Violation) String() string {
	return fmt.Sprintf("%s is %s, want %s %s (%s)", v.Metric, FormatNumber(v.Value), v.Op,
		strconv.FormatFloat(v.Threshold.Value, 'f', -1, 64), v.Level)
}

// OnlyTimingBroken reports whether the result is a warning whose broken
// thresholds are all about time (round trips, set-up times, jitter: the
// _ms metrics) or pace (frames per second): what an overloaded machine
// produces with nothing wrong on the network or in the device.
func (r Result) OnlyTimingBroken() bool {
	if r.Status != Warn || len(r.Broken) == 0 {
		return false
	}
	for _, v := range r.Broken {
		if !strings.HasSuffix(v.Metric, "_ms") && v.Metric != "fps" && v.Metric != "frame_rate" {
			return false
		}
	}
	return true
}

// Broke reports whether the result broke a threshold on metric.
func (r Result) Broke(metric string) bool {
	return slices.ContainsFunc(r.Broken, func(v Violation) bool { return v.Metric == metric })
}

// Subject is what a result keeps of what it was aimed at: enough for
// rules that compare results and for labels, without the live resources
// (browser sessions, URLs with tokens) the checks' own subject holds.
type Subject struct {
	// Target is a server check's server and transport; zero otherwise.
	Target probes.Target
	// Engine is the browser a browser check ran in ("chromium",
	// "firefox"); empty otherwise.
	Engine string
	// Path is how a call check's call gathered candidates; empty for
	// checks that make no call.
	Path Path
}

// Path is how a call gathered candidates. A relay-only call's TURN server
// and transport are the subject's Target.
type Path string

// The paths a call check tries.
const (
	AllCandidates Path = "all candidates"
	RelayOnly     Path = "relay-only"
)

// Group is the group of a check ID: "stun" for "stun.udp".
func Group(id string) string { g, _, _ := strings.Cut(id, "."); return g }
