package exporter

import (
	"math"
	"strconv"
	"strings"
)

// unitRule turns a metric's unit suffix into Prometheus' base unit:
// value × mul × 10^exp10. The power of ten is applied to the decimal
// text, so 0.021 ms is 2.1e-05 s, not 2.1000000000000002e-05.
type unitRule struct {
	suffix, base string
	mul          float64
	exp10        int
}

// unitRules, checked in order: rtcprobe's metric names end in their unit
// (rtt_median_ms, loss_pct, bitrate_kbps); Prometheus wants base units
// spelled out (…_seconds, …_ratio, …_bits_per_second, …_bytes).
var unitRules = []unitRule{
	{"_ms", "_seconds", 1, -3},
	{"_s", "_seconds", 1, 0}, // lifetimes the server grants, in its own unit
	{"_pct", "_ratio", 1, -2},
	{"_kbps", "_bits_per_second", 1, 3},
	{"_mbps", "_bits_per_second", 1, 6},
	{"_days_left", "_remaining_seconds", 86400, 0},
	{"fps", "frames_per_second", 1, 0},
	// A gauge may not end in _count (histograms own it): nack_count → nacks.
	{"_count", "s", 1, 0},
}

// promName converts one of a check's metrics to its Prometheus name and
// value: probe_<group>_<metric in base units>.
func promName(group, metric string, v float64) (string, float64) {
	name := metric
	for _, u := range unitRules {
		if strings.HasSuffix(name, u.suffix) && (len(name) == len(u.suffix) || u.suffix[0] == '_' || name[len(name)-len(u.suffix)-1] == '_') {
			name, v = strings.TrimSuffix(name, u.suffix)+u.base, shift(v*u.mul, u.exp10)
			break
		}
	}
	return "probe_" + sanitizeName(group) + "_" + sanitizeName(name), v
}

// shift multiplies v by 10^exp exactly in decimal.
func shift(v float64, exp int) float64 {
	if exp == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	out, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', -1, 64)+"e"+strconv.Itoa(exp), 64)
	if err != nil {
		return v * math.Pow10(exp)
	}
	return out
}

// sanitizeName keeps what a metric name may hold ([a-zA-Z0-9_]); metric
// names are rtcprobe's own, so this only guards against a surprise.
func sanitizeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
