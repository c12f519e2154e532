package probes_test

import (
	"math"
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/probes"
)

// TestLoadStepValidateBounds: a shard's step read from a file is refused
// when its totals could not come from a run, so that the shards' sums
// never wrap: two shards of 5e18 packets sent, none received, would add
// up to a negative count and a loss of 0 %.
func TestLoadStepValidateBounds(t *testing.T) {
	good := func() probes.LoadStep {
		s := probes.LoadStep{Calls: 10, Loss: probes.NewHistogram(), Jitter: probes.NewHistogram(), Alloc: probes.NewHistogram()}
		for range 4 {
			s.Loss.Add(0)
			s.Jitter.Add(2)
			s.Alloc.Add(5)
			s.Alloc.Add(6)
		}
		s.Totals = probes.LoadTotals{Calls: 4, CallsOK: 4, AllocsOK: 8, PacketsSent: 2000, PacketsReceived: 2000}
		return s
	}
	if err := good().Validate(); err != nil {
		t.Fatalf("a step as a run writes it: %v", err)
	}
	for name, tc := range map[string]struct {
		edit func(*probes.LoadStep)
		want string
	}{
		"packets sent past a call's most": {func(s *probes.LoadStep) { s.Totals.PacketsSent = 5e18 }, "packets"},
		"packets received past it":        {func(s *probes.LoadStep) { s.Totals.PacketsReceived = math.MaxInt64 }, "packets"},
		"three allocations a call":        {func(s *probes.LoadStep) { s.Totals.AllocsFailed = 1 }, "a call makes two"},
		"more calls than a run makes":     {func(s *probes.LoadStep) { s.Calls = probes.MaxLoadCalls + 1 }, "more than"},
	} {
		t.Run(name, func(t *testing.T) {
			s := good()
			tc.edit(&s)
			if err := s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
}
