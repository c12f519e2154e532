package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
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
	num := FormatNumber(v)
	if unit == "" {
		return label + " " + num
	}
	if unit == "%" {
		return label + " " + num + "%"
	}
	return label + " " + num + " " + unit
}

// FormatNumber prints with three significant digits, integers as is.
func FormatNumber(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Sprint(v)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case math.Abs(v) >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}
