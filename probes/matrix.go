package probes

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Cell is one entry of a reachability matrix: a named probe run against
// one target (one transport to one port).
type Cell struct {
	// Kind is the protocol the cell speaks ("STUN", "TURN"); Name
	// identifies the cell in evidence: "STUN/UDP 3478".
	Kind   string
	Name   string
	Target Target
	// Run measures the cell. It must return by ctx's deadline.
	Run func(ctx context.Context, t Target) Measurement
}

// CellResult is what one cell's probe observed and how long it took.
type CellResult struct {
	Cell        Cell
	Measurement Measurement
	Took        time.Duration
}

// Matrix runs every cell at once, each under the same ctx, so a matrix
// where everything is dropped ends after one deadline, not the sum of
// them. Results come back in the order of cells.
func Matrix(ctx context.Context, cells []Cell) []CellResult {
	out := make([]CellResult, len(cells))
	var wg sync.WaitGroup
	for i, c := range cells {
		wg.Go(func() {
			start := time.Now()
			defer func() {
				// A panicking cell must not take the whole run down.
				if v := recover(); v != nil {
					out[i] = CellResult{Cell: c, Measurement: Failed(fmt.Errorf("panic in %s: %v", c.Name, v)), Took: time.Since(start)}
				}
			}()
			m := c.Run(ctx, c.Target)
			out[i] = CellResult{Cell: c, Measurement: m, Took: time.Since(start)}
		})
	}
	wg.Wait()
	return out
}
