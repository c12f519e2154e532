package probes

import "testing"

// The shares of all N shards add up to the whole, and no two differ by
// more than one call, for every step of a ramp.
func TestShardSharesAddUp(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 16, 1000} {
		for _, calls := range append(LoadSteps(2000), 1, 9, 11) {
			sum, lo, hi := 0, calls, 0
			for i := range n {
				s := Shard{Index: i, Count: n}.Share(calls)
				sum += s
				lo, hi = min(lo, s), max(hi, s)
			}
			if sum != calls || hi-lo > 1 {
				t.Fatalf("%d calls over %d shards: shares add to %d, from %d to %d", calls, n, sum, lo, hi)
			}
		}
	}
	if (Shard{}).Share(42) != 42 {
		t.Error("the zero shard is not the whole")
	}
}

func TestParseShard(t *testing.T) {
	for _, ok := range []string{"0/1", "2/3", "999/1000", " 1/2 "} {
		if _, err := ParseShard(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"3/3", "-1/3", "0/0", "0/1001", "1", "a/b", "1/2/3", ""} {
		if s, err := ParseShard(bad); err == nil {
			t.Errorf("%q accepted as %v", bad, s)
		}
	}
}
