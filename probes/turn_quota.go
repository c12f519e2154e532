package probes

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// A TURN server may go on counting an allocation against the user's
// quota for a while after it was released: coturn frees it on its next
// timer, a few seconds later, more on a loaded host. So that rtcprobe
// never runs into a quota it used up itself, it counts the allocations
// it released per user and server that the server may still count, and
// a 486 that comes while one is pending (and sooner than quotaLag after
// the latest release) is retried every quotaPoll. A 508 is treated alike:
// a released allocation's relay port comes free on the same timer. A grant after such a
// wait shows the server freed one of them.
const (
	quotaLag  = 5 * time.Second
	quotaPoll = 200 * time.Millisecond
)

// ownReleases are the released allocations of one user on one server
// that the server may still count.
type ownReleases struct {
	mu      sync.Mutex
	pending int
	latest  time.Time
}

var releases sync.Map // quotaKey → *ownReleases

// quotaKey names one user on one server host: its listeners (3478 for
// UDP and TCP, 5349 for TLS) count one quota, so a release over UDP is
// still counted when the TLS check allocates. Two servers sharing a host
// and a username only wait for each other's releases.
func quotaKey(t Target) string { return t.Server.Username + "@" + t.Server.URI.Host }

func releasesOf(t Target) *ownReleases {
	v, _ := releases.LoadOrStore(quotaKey(t), &ownReleases{})
	return v.(*ownReleases)
}

func noteRelease(t Target) {
	r := releasesOf(t)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending++
	r.latest = time.Now()
}

// noteFreed records that an allocation was granted after waiting on our
// own releases: the server has let one of them go.
func noteFreed(t Target) {
	r := releasesOf(t)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = max(0, r.pending-1)
}

// awaitOwnReleases is called after a 486 or 508: while allocations this process
// released may still be counted, it waits a little and reports that the
// request is worth sending again.
func awaitOwnReleases(ctx context.Context, t Target) bool {
	r := releasesOf(t)
	r.mu.Lock()
	waiting := r.pending > 0 && time.Since(r.latest) <= quotaLag
	r.mu.Unlock()
	return waiting && sleepCtx(ctx, quotaPoll)
}

// stillCounted describes our own released allocations the server may
// still count, or "" when there are none.
func stillCounted(t Target) string {
	r := releasesOf(t)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == 0 {
		return ""
	}
	return fmt.Sprintf("%d allocation(s) rtcprobe released for this user, the latest %s before, may still be counted", r.pending, time.Since(r.latest).Round(100*time.Millisecond))
}
