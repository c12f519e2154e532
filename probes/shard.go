package probes

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxShards bounds how many machines one load run is spread over.
const MaxShards = 1000

// Shard is one process's part of a load spread over several machines:
// Index of Count. The zero value is the whole load.
type Shard struct {
	Index, Count int
}

// ParseShard reads "I/N", 0 ≤ I < N ≤ MaxShards.
func ParseShard(s string) (Shard, error) {
	is, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	i, ierr := strconv.Atoi(is)
	n, nerr := strconv.Atoi(ns)
	if !ok || ierr != nil || nerr != nil {
		return Shard{}, fmt.Errorf("want I/N, like 0/3 (this process's index I of N)")
	}
	if n < 1 || n > MaxShards {
		return Shard{}, fmt.Errorf("the count N is %d, want 1 to %d", n, MaxShards)
	}
	if i < 0 || i >= n {
		return Shard{}, fmt.Errorf("the index I is %d, want 0 to %d (N-1)", i, n-1)
	}
	return Shard{Index: i, Count: n}, nil
}

// Sharded reports whether the load is spread over more than one process.
func (s Shard) Sharded() bool { return s.Count > 1 }

// Share is this shard's part of n: n/N, one more for the first n mod N
// shards, so the shares of all N add up to n exactly.
func (s Shard) Share(n int) int {
	if s.Count <= 1 {
		return n
	}
	share := n / s.Count
	if s.Index < n%s.Count {
		share++
	}
	return share
}

func (s Shard) String() string {
	if s.Count == 0 {
		return "0/1"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}
