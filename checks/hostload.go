package checks

import (
	"fmt"
	"strings"

	"github.com/rtcprobe/rtcprobe/browser"
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

// judgeHostLoad: a result whose every broken threshold this machine
// explains cannot tell whether the network or the browser is at fault. It
// says so, as a warn, instead of the check's own advice (which names those
// causes). This machine explains
//   - a threshold a saturated CPU moves, measured while its CPUs were
//     saturated;
//   - a loss, when its kernel dropped UDP datagrams for a full socket
//     receive buffer while the check ran: a datagram that arrived here and
//     was not read in time (the counter is the namespace's, not one
//     socket's, so the loss may be partly the network's: cannot tell).
//
// Every other observation (refusals, silence, errors) keeps its verdict.
func judgeHostLoad(r *Result, m probes.Measurement) {
	if r.Status != Warn && r.Status != Fail || m.Err != nil || len(r.Broken) == 0 {
		return
	}
	cpu, drops := false, false
	for _, v := range r.Broken {
		switch {
		case saturated(m.Host) && (isLoadSensitive(v.Metric) || gatherTimedOut(m) && (v.Metric == "errors" || v.Metric == "complete")):
			cpu = true
		case m.Host.DropsKnown && m.Host.UDPDrops > 0 && isLossMetric(v.Metric):
			drops = true
		default:
			return
		}
	}
	r.HostSaturated = true
	r.Status = Warn
	var why []string
	if cpu {
		r.Evidence = append(r.Evidence, probes.Evidence{Name: "host_cpu", Value: m.Host.String()})
		why = append(why, "this machine's CPUs were saturated while the check ran ("+m.Host.String()+"): the times, frame rates and counts "+
			"measured are partly this machine's own delays")
	}
	if drops {
		d := fmt.Sprintf("this machine's kernel dropped %d UDP datagrams for a full socket receive buffer while the check ran", m.Host.UDPDrops)
		r.Evidence = append(r.Evidence, probes.Evidence{Name: "host_udp_drops", Value: d})
		why = append(why, d+" (a socket here, rtcprobe's, the browser's or a local server's, was not read in time): "+
			"the loss measured may be this machine's own, and cannot be told from the network's")
	}
	r.Advice = capitalize(strings.Join(why, "; and ")) + ", so they tell nothing about the network or the browser. " +
		"Run again on a quiet machine, or with fewer checks at once ({option:concurrency})."
}

// isLossMetric: a share or count of packets or messages lost.
func isLossMetric(metric string) bool {
	return strings.Contains(metric, "loss") || strings.Contains(metric, "lost")
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
