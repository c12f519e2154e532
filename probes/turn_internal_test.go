package probes

import (
	"net"
	"testing"
)

func TestUnroutable(t *testing.T) {
	tests := map[string]bool{
		"127.0.0.1": true, "10.1.2.3": true, "192.168.0.9": true, "172.16.5.5": true, "169.254.1.1": true,
		"::1": true, "fd00::1": true, "fe80::1": true, "0.0.0.0": true,
		"192.0.2.10": false, "8.8.8.8": false, "2001:db8::1": false,
	}
	for ip, want := range tests {
		if got := unroutable(net.ParseIP(ip)); got != want {
			t.Errorf("unroutable(%s) = %v, want %v", ip, got, want)
		}
	}
}

// TestLossRuns: one gap is an expiry's pattern, repeated gaps a rate
// limit's; single losses and a gap cut by the end do not count.
func TestLossRuns(t *testing.T) {
	seq := func(s string) []bool {
		out := make([]bool, len(s))
		for i, c := range s {
			out[i] = c == '+'
		}
		return out
	}
	tests := []struct {
		echoed string
		want   int
	}{
		{"++++++++", 0},
		{"++-+++-+", 0},
		{"+++-----++++", 1},
		{"++--++--++--++", 3},
		{"++++----", 0},
		{"+--+--", 1},
	}
	for _, tc := range tests {
		if got := lossRuns(seq(tc.echoed)); got != tc.want {
			t.Errorf("%s: %d runs, want %d", tc.echoed, got, tc.want)
		}
	}
}
