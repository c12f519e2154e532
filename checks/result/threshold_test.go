package result

import (
	"strings"
	"testing"
)

func TestParseThreshold(t *testing.T) {
	tests := []struct {
		expr   string
		metric string
		op     string
		value  float64
		holds  map[float64]bool
	}{
		{"rtt_p95_ms < 150", "rtt_p95_ms", "<", 150, map[float64]bool{149.9: true, 150: false}},
		{"loss_pct<=1", "loss_pct", "<=", 1, map[float64]bool{1: true, 1.01: false}},
		{"mos >= 3.6", "mos", ">=", 3.6, map[float64]bool{3.6: true, 3.59: false}},
		{"fps > 0", "fps", ">", 0, map[float64]bool{0: false, 1: true}},
		{"loss_pct == 0", "loss_pct", "==", 0, map[float64]bool{0: true, 20: false}},
		{"x2 != -1.5", "x2", "!=", -1.5, map[float64]bool{-1.5: false, 0: true}},
	}
	for _, tt := range tests {
		th, err := ParseThreshold(Warn, tt.expr)
		if err != nil {
			t.Errorf("%q: %v", tt.expr, err)
			continue
		}
		if th.Metric != tt.metric || th.Op != tt.op || th.Value != tt.value {
			t.Errorf("%q parsed as %+v", tt.expr, th)
		}
		for v, want := range tt.holds {
			if th.Holds(v) != want {
				t.Errorf("%q holds(%v) = %v, want %v", tt.expr, v, !want, want)
			}
		}
		again, err := ParseThreshold(Warn, th.String())
		if err != nil || again != th {
			t.Errorf("%q does not round-trip through %q", tt.expr, th.String())
		}
	}
}

func TestParseThresholdErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"rtt_ms <<< 3", "more than one comparison"},
		{"rtt_ms 3", "no comparison"},
		{"< 3", "missing metric"},
		{"rtt_ms < fast", `"fast" is not a number`},
		{"rtt_ms < NaN", "not a number"},
		{"RTT < 3", "metric name"},
		{"rtt ms < 3", "metric name"},
		{"", "no comparison"},
	}
	for _, tt := range tests {
		_, err := ParseThreshold(Fail, tt.expr)
		if err == nil {
			t.Errorf("%q accepted", tt.expr)
			continue
		}
		if !strings.Contains(err.Error(), `invalid threshold "`+tt.expr+`"`) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %q, want it to quote the input and say %q", tt.expr, err, tt.want)
		}
	}
	if _, err := ParseThreshold(Pass, "x < 1"); err == nil {
		t.Error("level pass accepted")
	}
}
