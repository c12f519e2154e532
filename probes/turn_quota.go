package probes

import (
	"context"
	"sync"
	"time"
)

// A TURN server may go on counting an allocation against the user's
// quota for a moment after it was released: coturn frees it on its next
// timer, up to a few seconds later. So that rtcprobe never runs into a
// quota it used up itself, it remembers when it last released an
// allocation per user and server, and a 486 that comes sooner than
// quotaLag after that is retried every quotaPoll until then.
const (
	quotaLag  = 5 * time.Second
	quotaPoll = 200 * time.Millisecond
)

var releases sync.Map // quotaKey → time.Time of the latest release

func quotaKey(t Target) string { return t.Server.Username + "@" + t.Server.URI.Host }

func noteRelease(t Target) { releases.Store(quotaKey(t), time.Now()) }

// awaitOwnReleases is called after a 486: while allocations this process
// released are recent enough to still be counted, it waits a little and
// reports that the request is worth sending again.
func awaitOwnReleases(ctx context.Context, t Target) bool {
	v, ok := releases.Load(quotaKey(t))
	if !ok || time.Since(v.(time.Time)) > quotaLag {
		return false
	}
	return sleepCtx(ctx, quotaPoll)
}
