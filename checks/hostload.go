package checks

import (
	"github.com/rtcprobe/rtcprobe/browser"
	"strings"

	"github.com/rtcprobe/rtcprobe/probes"
)

// loadSensitive are the metrics, besides every _ms one, that a saturated
// CPU moves with nothing wrong on the network or in the device: frame and
// packet counts and rates, decoding and concealment, clock drift, jitter,
// throughput, and what is computed from them.
var loadSensitive = map[string]bool{
	"fps": true, "fps_p5": true, "frame_rate": true, "frames": true, "frames_decoded": true, "keyframes_decoded": true,
	"chrome_frames_decoded": true, "answerer_frames_decoded": true, "offerer_frames_decoded": true, "pion_video_frames": true,
	"chrome_audio_packets": true, "answerer_audio_packets": true, "offerer_audio_packets": true, "pion_audio_packets": true,
	"decoded_pct": true, "incomplete_frames": true, "frozen_frames_pct": true, "concealed_pct": true, "samples": true,
	"clock_error_pct": true, "packets_lost": true, "mos": true, "throughput_mbps": true,
}

// Saturation thresholds. A default run with browsers keeps two cores
// busy enough that some task waits about half the time; with two busy
// loops beside it, about 80 %.
const (
	saturatedWaitPct  = 60
	saturatedStealPct = 20
)

// saturated: tasks waited for a CPU most of the time, or a hypervisor
// took a large share of it.
func saturated(h probes.HostLoad) bool {
	return h.Known && (h.WaitPct >= saturatedWaitPct || h.StealPct >= saturatedStealPct)
}

func isLoadSensitive(metric string) bool {
	return strings.HasSuffix(metric, "_ms") || loadSensitive[metric]
}

// judgeHostLoad: a result that broke only thresholds a saturated CPU
// moves, measured while this machine's CPUs were saturated, cannot tell
// whether the network or the browser is at fault. It says so, as a warn,
// instead of the check's own advice (which names those causes). Loss and
// every other observation keep their verdict.
func judgeHostLoad(r *Result, m probes.Measurement) {
	if r.Status != Warn && r.Status != Fail || m.Err != nil || len(r.Broken) == 0 || !saturated(m.Host) {
		return
	}
	for _, v := range r.Broken {
		if !isLoadSensitive(v.Metric) && !(gatherTimedOut(m) && (v.Metric == "errors" || v.Metric == "complete")) {
			return
		}
	}
	r.HostSaturated = true
	r.Status = Warn
	r.Evidence = append(r.Evidence, probes.Evidence{Name: "host_cpu", Value: m.Host.String()})
	r.Advice = "This machine's CPUs were saturated while the check ran (" + m.Host.String() + "): the times, frame rates and counts " +
		"measured are partly this machine's own delays, so they tell nothing about the network or the browser. " +
		"Run again on a quiet machine, or with fewer checks at once ({option:concurrency})."
}

// gatherTimedOut: browser ICE gathering whose only errors are 701 (a
// request with no answer in time) from a server that did answer (a relay
// or srflx candidate came). The server is reachable, so those errors and
// an unfinished gathering are time: a saturated machine makes them with
// nothing wrong on the path.
func gatherTimedOut(m probes.Measurement) bool {
	s, ok := m.Summary.(*browser.ICESummary)
	if !ok || len(s.Errors) == 0 || m.Metrics["relay"]+m.Metrics["srflx"] == 0 {
		return false
	}
	for _, e := range s.Errors {
		if e.ErrorCode != 701 {
			return false
		}
	}
	return true
}
