package exporter

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/report"
)

// writeDebug answers &debug=true: the probe in words for a person in a
// browser (what ran, the verdict and why, each check's cause, advice,
// metrics and evidence), then the metrics Prometheus would have got.
func writeDebug(w http.ResponseWriter, p *probeRecord, reg prometheus.Gatherer) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	var b strings.Builder
	verdict := "succeeded"
	if !p.Success {
		verdict = "failed"
	}
	overall := result.Overall(p.Report.Results)
	fmt.Fprintf(&b, "Module %s (%s), target %s\n", p.Module, p.Where, p.Target)
	fmt.Fprintf(&b, "Probe %s: overall %s; the module fails on %s. Took %s at %s.\n", verdict, overall, p.FailOn,
		p.Took.Round(100_000), p.At.UTC().Format("2006-01-02 15:04:05 MST"))
	fmt.Fprintf(&b, "Deadline: %s.\n\n", p.Deadline)
	_ = report.WriteDetails(&b, p.Report)
	b.WriteString("\nMetrics that would have been returned:\n")
	if mfs, err := reg.Gather(); err == nil {
		enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, mf := range mfs {
			_ = enc.Encode(mf)
		}
	} else {
		fmt.Fprintf(&b, "(could not gather: %v)\n", err)
	}
	_, _ = w.Write([]byte(b.String()))
}
