package checks

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/rtcprobe/rtcprobe/browser"
)

// The runner's scheduler admits a job only when everything it needs is
// free at once: a runner slot, its serial key (the TURN checks of one
// credential, whose quota they would otherwise exhaust), and its
// browser's camera for a page that captures (shared, or alone for
// browser.resolutions). A job waiting for any of these holds none of
// them, and its deadline has not started: a check that waited 8 s for the
// browser to start or for the camera did not time out on its own work.
//
// Jobs are admitted best rank first (jobRanks): a job that needs the
// camera alone before the ones that share it, then the longest work first,
// so the run's longest chains start at once and its end is not a long
// check started last. A job passed over because something it needs is
// taken does not stop a later one that needs other things, except that a
// waiting camera-alone job stops later ones from taking that camera (it
// would wait for ever behind them).
//
// A job lends its serial key while it needs nothing of what the key
// guards (a TURN check that has not yet sent an authenticated request:
// probes.QuotaLease): the next job waiting for the key is admitted. It
// takes the key back before it needs it again, before any job still
// waiting for admission; the job's end gives it back if held.

type scheduler struct {
	mu      sync.Mutex
	free    int
	serial  map[string]bool
	cameras map[*browser.Session]int // readers, or -1 when held alone
	waiting []*ticket                // best rank first
	// reclaiming are running jobs taking back the key they lent, best
	// rank first.
	reclaiming []*ticket
}

// ticket is one job's claim. Every job's ticket is queued when the run
// starts, so a camera-alone job waiting for its browser to start already
// keeps the pages that share the camera from taking it first.
type ticket struct {
	rank   int
	serial string
	camera *browser.Session // nil: the job does not capture
	alone  bool
	page   string
	// ready is false while the job's browser starts.
	ready     bool
	granted   chan struct{}
	isGranted bool
	// keyHeld: the job holds its serial key (granted and not lent).
	// reclaimed is closed when a key taken back is held again. ended: the
	// job gave back what it held.
	keyHeld   bool
	reclaimed chan struct{}
	ended     bool
}

func newScheduler(slots int) *scheduler {
	return &scheduler{free: slots, serial: map[string]bool{}, cameras: map[*browser.Session]int{}}
}

// enqueue queues job j's ticket: what it needs (its serial key, the
// camera of its browser when its page captures). The run queues every
// job's before any is granted, so the first grants already go by rank. A
// job whose browser must start first is not granted before its acquire.
func (s *scheduler) enqueue(j Job, rank int, serial string) *ticket {
	t := &ticket{rank: rank, serial: serial, granted: make(chan struct{}), ready: !needsBrowser(j)}
	if pc, _ := browser.LookupPageCheck(j.Check.Page); pc.Captures && j.Subject.Browser != nil {
		// A page that may need the camera alone is taken to until its
		// browser says (Session.CapturesAlone: it may have a camera spare).
		t.camera, t.alone, t.page = j.Subject.Browser, pc.CapturesAlone, j.Check.Page
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := sort.Search(len(s.waiting), func(i int) bool { return s.waiting[i].rank > t.rank })
	s.waiting = append(s.waiting, nil)
	copy(s.waiting[i+1:], s.waiting[i:])
	s.waiting[i] = t
	return t
}

// needsBrowser: the job runs a page in its browser, which starts first.
func needsBrowser(j Job) bool { return j.Check.Page != "" && j.Subject.Browser != nil }

// acquire waits until t is granted; false, holding nothing, when ctx ends
// first.
func (s *scheduler) acquire(ctx context.Context, t *ticket) bool {
	alone := t.alone && t.camera.CapturesAlone(t.page) // known once the browser is found
	s.mu.Lock()
	t.ready, t.alone = true, alone
	s.dispatch()
	s.mu.Unlock()
	select {
	case <-t.granted:
		return true
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.isGranted {
		s.releaseLocked(t)
		return false
	}
	for i, w := range s.waiting {
		if w == t {
			s.waiting = append(s.waiting[:i], s.waiting[i+1:]...)
			break
		}
	}
	s.dispatch() // a camera-alone waiter that left may unblock others
	return false
}

// release gives back what t holds.
func (s *scheduler) release(t *ticket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked(t)
}

func (s *scheduler) releaseLocked(t *ticket) {
	s.free++
	t.ended = true
	if t.keyHeld {
		delete(s.serial, t.serial)
		t.keyHeld = false
	}
	s.reclaiming = removeTicket(s.reclaiming, t)
	if t.camera != nil {
		if t.alone {
			s.cameras[t.camera] = 0
		} else {
			s.cameras[t.camera]--
		}
	}
	s.dispatch()
}

// lend frees the serial key t holds, admitting the next job waiting for
// it, until t takes it back (reclaim).
func (s *scheduler) lend(t *ticket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !t.keyHeld {
		return
	}
	delete(s.serial, t.serial)
	t.keyHeld = false
	s.dispatch()
}

// reclaim waits until t's serial key is free and takes it back, before
// any job waiting for admission; ctx's error when it ends first. A job
// holding its key, or without one, has it at once.
func (s *scheduler) reclaim(ctx context.Context, t *ticket) error {
	s.mu.Lock()
	if t.serial == "" || t.keyHeld {
		s.mu.Unlock()
		return nil
	}
	if t.ended {
		s.mu.Unlock()
		return errJobEnded
	}
	if t.reclaimed == nil {
		t.reclaimed = make(chan struct{})
		i := sort.Search(len(s.reclaiming), func(i int) bool { return s.reclaiming[i].rank > t.rank })
		s.reclaiming = slices.Insert(s.reclaiming, i, t)
	}
	done := t.reclaimed
	s.dispatch()
	s.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.keyHeld {
		return nil // granted meanwhile: the job's end gives it back
	}
	s.reclaiming = removeTicket(s.reclaiming, t)
	t.reclaimed = nil
	return ctx.Err()
}

// errJobEnded: a job asked for its key back after its end.
var errJobEnded = errors.New("the job has ended")

func removeTicket(ts []*ticket, t *ticket) []*ticket {
	if i := slices.Index(ts, t); i >= 0 {
		return slices.Delete(ts, i, i+1)
	}
	return ts
}

// dispatch gives keys back to the jobs reclaiming them, then grants every
// waiting ticket that fits, best rank first.
func (s *scheduler) dispatch() {
	kept := s.reclaiming[:0]
	for _, t := range s.reclaiming {
		if s.serial[t.serial] {
			kept = append(kept, t)
			continue
		}
		s.serial[t.serial], t.keyHeld = true, true
		close(t.reclaimed)
		t.reclaimed = nil
	}
	clear(s.reclaiming[len(kept):])
	s.reclaiming = kept
	s.dispatchWaiting()
}

func (s *scheduler) dispatchWaiting() {
	cameraWanted := map[*browser.Session]bool{} // by a better camera-alone waiter
	kept := s.waiting[:0]
	for _, t := range s.waiting {
		if !t.ready || s.free == 0 || !s.fits(t) || t.camera != nil && cameraWanted[t.camera] {
			if t.camera != nil && t.alone {
				cameraWanted[t.camera] = true
			}
			kept = append(kept, t)
			continue
		}
		s.free--
		if t.serial != "" {
			s.serial[t.serial], t.keyHeld = true, true
		}
		if t.camera != nil {
			if t.alone {
				s.cameras[t.camera] = -1
			} else {
				s.cameras[t.camera]++
			}
		}
		t.isGranted = true
		close(t.granted)
	}
	clear(s.waiting[len(kept):])
	s.waiting = kept
}

func (s *scheduler) fits(t *ticket) bool {
	if t.serial != "" && s.serial[t.serial] {
		return false
	}
	if t.camera == nil {
		return true
	}
	if t.alone {
		return s.cameras[t.camera] == 0
	}
	return s.cameras[t.camera] >= 0
}

// jobRanks orders the jobs' admission (lower first): the camera-alone
// page, whose wait would otherwise hold up every page sharing the camera
// after it; then the longest work (Check.Takes); then the catalogue's
// order.
func jobRanks(jobs []Job) []int {
	order := make([]int, len(jobs))
	for i := range order {
		order[i] = i
	}
	key := func(j Job) (int, time.Duration) {
		if pc, _ := browser.LookupPageCheck(j.Check.Page); pc.CapturesAlone {
			return 0, 0
		}
		return 1, -j.Check.Takes
	}
	sort.SliceStable(order, func(a, b int) bool {
		ga, ta := key(jobs[order[a]])
		gb, tb := key(jobs[order[b]])
		if ga != gb {
			return ga < gb
		}
		return ta < tb
	})
	ranks := make([]int, len(jobs))
	for r, i := range order {
		ranks[i] = r
	}
	return ranks
}
