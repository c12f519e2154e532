package result

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Threshold is a condition a metric must meet; when it does not, the result
// gets Level (warn or fail). Written as "rtt_p95_ms < 150".
type Threshold struct {
	Metric string
	Op     string
	Value  float64
	Level  Status
	// Reason says where the number comes from (RFC, ITU-T, common practice).
	Reason string
}

var ops = []string{"<=", ">=", "==", "!=", "<", ">"} // two-character ops first

// ParseThreshold parses "METRIC OP NUMBER" for the given level.
func ParseThreshold(level Status, expr string) (Threshold, error) {
	bad := func(why string) (Threshold, error) {
		return Threshold{}, &ThresholdError{Expr: expr, Why: why}
	}
	if level != Warn && level != Fail {
		return bad("level must be warn or fail")
	}
	for _, op := range ops {
		i := strings.Index(expr, op)
		if i < 0 {
			continue
		}
		metric := strings.TrimSpace(expr[:i])
		rest := strings.TrimSpace(expr[i+len(op):])
		if metric == "" {
			return bad("missing metric name before " + op)
		}
		if !validMetricName(metric) {
			return bad(fmt.Sprintf("metric name %q (want lower_case letters, digits, _)", metric))
		}
		if strings.ContainsAny(rest, "<>=!") {
			return bad("more than one comparison")
		}
		v, err := strconv.ParseFloat(rest, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return bad(fmt.Sprintf("%q is not a number", rest))
		}
		return Threshold{Metric: metric, Op: op, Value: v, Level: level}, nil
	}
	return bad("no comparison (want one of < <= > >= == !=)")
}

// ThresholdError is a threshold expression that does not parse.
type ThresholdError struct {
	Expr string
	Why  string
	// Where names the check it was written for ("checks.stun.udp"), when known.
	Where string
}

func (e *ThresholdError) Error() string {
	if e.Where != "" {
		return fmt.Sprintf("invalid threshold %q in %s: %s", e.Expr, e.Where, e.Why)
	}
	return fmt.Sprintf("invalid threshold %q: %s", e.Expr, e.Why)
}

// MustThreshold is ParseThreshold for the built-in catalogue.
func MustThreshold(level Status, expr, reason string) Threshold {
	t, err := ParseThreshold(level, expr)
	if err != nil {
		panic(err)
	}
	t.Reason = reason
	return t
}

func validMetricName(s string) bool {
	for i, c := range s {
		if !(c >= 'a' && c <= 'z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// Holds reports whether v meets the condition.
func (t Threshold) Holds(v float64) bool {
	switch t.Op {
	case "<":
		return v < t.Value
	case "<=":
		return v <= t.Value
	case ">":
		return v > t.Value
	case ">=":
		return v >= t.Value
	case "==":
		return v == t.Value
	case "!=":
		return v != t.Value
	}
	return false
}

// String is the threshold as written: "rtt_p95_ms < 150".
func (t Threshold) String() string {
	return fmt.Sprintf("%s %s %s", t.Metric, t.Op, strconv.FormatFloat(t.Value, 'f', -1, 64))
}
