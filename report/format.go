package report

import (
	"strings"

	"github.com/rtcprobe/rtcprobe/checks/result"
)

// unit suffixes of metric names and how they print.
var units = []struct{ suffix, unit string }{
	{"_ms", "ms"},
	{"_pct", "%"},
	{"_kbps", "kbit/s"},
	{"_mbps", "Mbit/s"},
	{"_fps", "fps"},
	{"_bytes", "B"},
}

// FormatMetric prints a metric for people: "rtt p95 0.21 ms".
func FormatMetric(name string, v float64) string {
	label, unit := name, ""
	for _, u := range units {
		if strings.HasSuffix(name, u.suffix) {
			label, unit = strings.TrimSuffix(name, u.suffix), u.unit
			break
		}
	}
	label = strings.ReplaceAll(label, "_", " ")
	num := result.FormatNumber(v)
	if unit == "" {
		return label + " " + num
	}
	if unit == "%" {
		return label + " " + num + "%"
	}
	return label + " " + num + " " + unit
}
