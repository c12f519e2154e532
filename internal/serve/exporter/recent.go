package exporter

import (
	"sync"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/report"
)

// probeRecord is one probe as /status and the debug output show it.
type probeRecord struct {
	ID       uint64
	At       time.Time
	Module   string
	Where    string
	Target   string // without credentials or query values
	Success  bool
	Took     time.Duration
	Deadline probeDeadline
	FailOn   result.Status
	Report   report.Report
}

// recentProbes keeps the last probes, newest last; older ones drop out,
// so memory stays bounded however many targets are scraped.
type recentProbes struct {
	mu   sync.Mutex
	ring []*probeRecord
	next uint64
}

func newRecentProbes(n int) *recentProbes { return &recentProbes{ring: make([]*probeRecord, 0, n)} }

func (r *recentProbes) add(p *probeRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	p.ID = r.next
	if len(r.ring) < cap(r.ring) {
		r.ring = append(r.ring, p)
		return
	}
	copy(r.ring, r.ring[1:])
	r.ring[len(r.ring)-1] = p
}

// list returns the kept probes, newest first.
func (r *recentProbes) list() []*probeRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*probeRecord, len(r.ring))
	for i, p := range r.ring {
		out[len(r.ring)-1-i] = p
	}
	return out
}

func (r *recentProbes) get(id uint64) *probeRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.ring {
		if p.ID == id {
			return p
		}
	}
	return nil
}
