package precall

import (
	"container/list"
	"crypto/rand"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/internal/store"
	"github.com/rtcprobe/rtcprobe/report"
)

// maxTasks bounds the page checks of one session (the posted results'
// schema allows as many).
const maxTasks = 64

// sessionHeader carries a session's token: never in a URL, so it stays
// out of access logs and Referer headers.
const sessionHeader = "X-Rtcprobe-Session"

// session is one run of the page: its token, the plan it runs (with TURN
// credentials minted for it), the pion peers of its calls, and whether
// its result was posted (a token is good for one result).
type session struct {
	token   string
	created time.Time
	expires time.Time
	client  netip.Addr
	// ss is where it counts against the cap and its client's shares
	// while in progress (set by add).
	ss    *sessions
	st    *state
	plan  *checks.Plan
	jobs  []checks.Job
	tasks []browser.Task

	mu    sync.Mutex
	peers map[int]*browser.CallPeer
	// posted: the session's result is stored; its token is spent.
	posted bool
	// judged is the result judged from the first valid post, kept until
	// it is stored: the token is spent by the write, not before it, so a
	// post whose write failed can be retried, and the retry stores this
	// same report (the calls' stats are read once, when it is judged).
	judged *judgedResult
	// ended is set under mu (so peer and post see it with posted); the
	// first end takes the session off its counts.
	ended atomic.Bool
	// reading is true while one post's body is read and checked: a
	// token has one body in flight at a time.
	reading bool
	// candidates are the remote candidates its calls may still take.
	candidates int

	// Under ss.mu: whether it counts against the cap and its client's
	// shares; when it last did something (started, had a call answered,
	// had a post judged); how many of its requests are being served; its
	// place in ss.order.
	counted    bool
	lastActive time.Time
	inFlight   int
	elem       *list.Element
}

// idleAfter is how long a session that does nothing keeps its place
// against a newcomer when the cap is full: a page runs its calls one
// after another and posts its result right after the last, so a session
// with no call answered, no post judged and no request in flight for
// this long is not a page at work. A new session counts as active for as
// long (the page asks for camera and microphone first).
const idleAfter = 30 * time.Second

// idle reports whether s may be taken for a newcomer at now. Under ss.mu.
func (s *session) idle(now time.Time) bool {
	return s.inFlight == 0 && now.Sub(s.lastActive) >= idleAfter
}

var (
	errFull = errors.New("too many pre-call sessions at once")
	// errAddress and errNetwork refuse a session over its client's share.
	errAddress  = errors.New("too many pre-call sessions from this address at once")
	errNetwork  = errors.New("too many pre-call sessions from this network at once")
	errAnswered = errors.New("this call was answered already")
	errEnded    = errors.New("the session is over")
	errSpent    = errors.New("this session's result was posted already; start a new check")
	errBusy     = errors.New("this session's result is being posted")
	// errTaken: the session was idle when the page was full, and a
	// newcomer took its place.
	errTaken = errors.New("this session was ended to make room for another visitor while it was idle; start again")
)

// task is the page check of job i.
func (s *session) task(i int) browser.Task { return s.tasks[i] }

// peer returns the pion peer of task i, made with cfg on first use; a
// second offer for the same task is refused.
func (s *session) peer(i int, cfg browser.CallPeerConfig) (*browser.CallPeer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended.Load() || s.posted || s.judged != nil {
		return nil, errEnded
	}
	if _, ok := s.peers[i]; ok {
		return nil, errAnswered
	}
	p := browser.NewCallPeer(cfg)
	s.peers[i] = p
	return p, nil
}

// reserveCandidates takes up to n of the session's remote candidates;
// refundCandidates gives back what a call did not use.
func (s *session) reserveCandidates(n int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n = min(n, s.candidates)
	s.candidates -= n
	return n
}

func (s *session) refundCandidates(n int) {
	s.mu.Lock()
	s.candidates += n
	s.mu.Unlock()
}

// takePeer hands over task i's peer (nil when it never called), so the
// caller reads its stats and closes it.
func (s *session) takePeer(i int) *browser.CallPeer {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.peers[i]
	delete(s.peers, i)
	return p
}

// claim reserves the session for one post before its body is read, so a
// spent token or a second post in flight costs no reading or parsing;
// release undoes it.
func (s *session) claim() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.posted || s.ended.Load():
		return errSpent
	case s.reading:
		return errBusy
	}
	s.reading = true
	return nil
}

func (s *session) release() {
	s.mu.Lock()
	s.reading = false
	s.mu.Unlock()
}

// judgedResult is a session's report and the row that stores it.
type judgedResult struct {
	rep report.Report
	row store.Result
}

// pending is the result judged from an earlier post whose write failed,
// or nil. Only the post holding the claim reads or sets it.
func (s *session) pending() *judgedResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.judged
}

// keep holds a judged result until it is stored.
func (s *session) keep(j *judgedResult) {
	s.mu.Lock()
	s.judged = j
	s.mu.Unlock()
}

// stored spends the token: its result is stored.
func (s *session) stored() {
	s.mu.Lock()
	s.posted = true
	s.mu.Unlock()
}

// end closes the session's calls; it stays known (as posted or ended)
// until it expires, so a replayed token is told why it is refused.
func (s *session) end() {
	s.mu.Lock()
	first := !s.ended.Swap(true)
	peers := s.peers
	s.peers = map[int]*browser.CallPeer{}
	s.mu.Unlock()
	if first && s.ss != nil {
		s.ss.ended(s)
	}
	for _, p := range peers {
		p.Close()
	}
}

// sessions are the sessions known, by token, and those in progress
// counted in all, by client address and by client network.
//
// At the cap a new session is not turned away while a session is idle:
// it takes the place of the longest idle session of the network (IPv4
// /24, IPv6 /48) holding the most sessions in progress. Whoever fills
// the cap from a few networks and holds its sessions without using them
// therefore loses them to newcomers, and a visitor from any other network
// gets in; sessions at work (a call answered or a post judged within
// idleAfter, a request being served) are never taken. A taken session's
// calls end, and its token is answered with errTaken until it would have
// expired.
type sessions struct {
	now func() time.Time

	mu      sync.Mutex
	limits  config.SessionLimits
	byToken map[string]*session
	// order holds byToken's sessions, oldest first: they expire in that
	// order (all live one TTL).
	order  list.List
	live   int
	byAddr map[netip.Prefix]int
	byNet  map[netip.Prefix]map[*session]struct{}
	// taken are the tokens of taken sessions, until they would have
	// expired, the oldest first in takenOrder; at most maxTracked (past
	// that, the oldest is answered as unknown instead).
	taken      map[string]time.Time
	takenOrder list.List
}

type takenToken struct {
	token   string
	expires time.Time
}

func newSessions(limits config.SessionLimits, now func() time.Time) *sessions {
	return &sessions{limits: limits, now: now, byToken: map[string]*session{}, byAddr: map[netip.Prefix]int{},
		byNet: map[netip.Prefix]map[*session]struct{}{}, taken: map[string]time.Time{}}
}

// setLimits puts new caps in force (a reload); sessions in progress
// stay, and new ones wait until they fit.
func (ss *sessions) setLimits(l config.SessionLimits) {
	ss.mu.Lock()
	ss.limits = l
	ss.mu.Unlock()
}

// currentLimits are the caps in force.
func (ss *sessions) currentLimits() config.SessionLimits {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.limits
}

// clientKeys are the shares a client counts against: its address (an
// IPv4 address, or the /64 an IPv6 host has to choose from) and its
// network (an IPv4 /24, an IPv6 /48).
func clientKeys(a netip.Addr) (addr, network netip.Prefix) {
	bits, netBits := 32, 24
	if a.Is6() {
		bits, netBits = 64, 48
	}
	addr, _ = a.Prefix(bits)
	network, _ = a.Prefix(netBits)
	return addr, network
}

// add registers a new session with an unguessable token if it fits its
// client's shares, and the cap, taking the place of an idle session if
// need be (victim, which the caller ends); the error says which refused
// it. Expired sessions are forgotten first and ended.
func (ss *sessions) add(s *session) (victim *session, err error) {
	addr, network := clientKeys(s.client)
	now := ss.now()
	ss.mu.Lock()
	gone := ss.expireLocked(now)
	defer endAll(gone)
	defer ss.mu.Unlock()
	switch {
	case ss.byAddr[addr] >= ss.limits.PerAddress:
		return nil, errAddress
	case len(ss.byNet[network]) >= ss.limits.PerNetwork:
		return nil, errNetwork
	case ss.live >= ss.limits.Max:
		if victim = ss.victim(now); victim == nil {
			return nil, errFull
		}
		// Its place is the newcomer's now, whatever its end does.
		ss.forget(victim)
		ss.remove(victim)
		ss.tombstone(victim.token, victim.expires, now)
	}
	ss.live++
	ss.byAddr[addr]++
	if ss.byNet[network] == nil {
		ss.byNet[network] = map[*session]struct{}{}
	}
	ss.byNet[network][s] = struct{}{}
	s.counted = true
	s.lastActive = now
	s.ss = ss
	s.token = rand.Text()
	s.peers = map[int]*browser.CallPeer{}
	s.candidates = maxSessionCandidates
	ss.byToken[s.token] = s
	s.elem = ss.order.PushBack(s)
	return victim, nil
}

// victim is the longest idle session of the network holding the most
// sessions in progress that has one (nil: none is idle). Under ss.mu.
func (ss *sessions) victim(now time.Time) *session {
	var best *session
	bestSize := 0
	for _, set := range ss.byNet {
		if len(set) < bestSize {
			continue
		}
		var oldest *session
		for s := range set {
			if s.idle(now) && (oldest == nil || s.lastActive.Before(oldest.lastActive)) {
				oldest = s
			}
		}
		if oldest == nil {
			continue
		}
		if len(set) > bestSize || oldest.lastActive.Before(best.lastActive) {
			best, bestSize = oldest, len(set)
		}
	}
	return best
}

// forget takes s off the counts, once. Under ss.mu.
func (ss *sessions) forget(s *session) {
	if !s.counted {
		return
	}
	s.counted = false
	addr, network := clientKeys(s.client)
	ss.live--
	if ss.byAddr[addr]--; ss.byAddr[addr] <= 0 {
		delete(ss.byAddr, addr)
	}
	set := ss.byNet[network]
	delete(set, s)
	if len(set) == 0 {
		delete(ss.byNet, network)
	}
}

// remove drops s from the sessions known. Under ss.mu.
func (ss *sessions) remove(s *session) {
	if ss.byToken[s.token] == s {
		delete(ss.byToken, s.token)
	}
	if s.elem != nil {
		ss.order.Remove(s.elem)
		s.elem = nil
	}
}

// tombstone remembers a taken session's token until it would have
// expired. Under ss.mu.
func (ss *sessions) tombstone(token string, expires, now time.Time) {
	for e := ss.takenOrder.Front(); e != nil && (ss.takenOrder.Len() >= maxTracked || now.After(e.Value.(takenToken).expires)); e = ss.takenOrder.Front() {
		delete(ss.taken, e.Value.(takenToken).token)
		ss.takenOrder.Remove(e)
	}
	ss.taken[token] = expires
	ss.takenOrder.PushBack(takenToken{token: token, expires: expires})
}

// expireLocked forgets the sessions expired at now and returns them, for
// the caller to end once it let go of ss.mu. Under ss.mu.
func (ss *sessions) expireLocked(now time.Time) []*session {
	var gone []*session
	for e := ss.order.Front(); e != nil && now.After(e.Value.(*session).expires); e = ss.order.Front() {
		s := e.Value.(*session)
		ss.forget(s)
		ss.remove(s)
		gone = append(gone, s)
	}
	for e := ss.takenOrder.Front(); e != nil && now.After(e.Value.(takenToken).expires); e = ss.takenOrder.Front() {
		delete(ss.taken, e.Value.(takenToken).token)
		ss.takenOrder.Remove(e)
	}
	return gone
}

func endAll(gone []*session) {
	for _, s := range gone {
		s.end()
	}
}

// ended takes a session that ended off the counts (end calls it the
// first time only; a session taken or expired is off them already).
func (ss *sessions) ended(s *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.forget(s)
}

// open returns the session of a token with one more request in flight on
// it, so that it is not taken while served (the caller calls done); nil
// and errTaken when it was taken, nil and no error when the token is
// unknown or expired.
func (ss *sessions) open(token string) (*session, error) {
	now := ss.now()
	ss.mu.Lock()
	gone := ss.expireLocked(now)
	defer endAll(gone)
	defer ss.mu.Unlock()
	if _, ok := ss.taken[token]; ok {
		return nil, errTaken
	}
	s := ss.byToken[token]
	if s == nil || now.After(s.expires) {
		return nil, nil
	}
	s.inFlight++
	return s, nil
}

// done ends a request on s that open counted.
func (ss *sessions) done(s *session) {
	ss.mu.Lock()
	s.inFlight--
	ss.mu.Unlock()
}

// active marks s as at work now (a call answered, a post judged).
func (ss *sessions) active(s *session) {
	now := ss.now()
	ss.mu.Lock()
	s.lastActive = now
	ss.mu.Unlock()
}

// inProgress counts the sessions in progress.
func (ss *sessions) inProgress() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.live
}

// expire forgets expired sessions and ends their calls.
func (ss *sessions) expire() {
	ss.mu.Lock()
	gone := ss.expireLocked(ss.now())
	ss.mu.Unlock()
	endAll(gone)
}

// closeAll ends every session (the server drains).
func (ss *sessions) closeAll() {
	ss.mu.Lock()
	all := make([]*session, 0, len(ss.byToken))
	for _, s := range ss.byToken {
		all = append(all, s)
	}
	ss.mu.Unlock()
	endAll(all)
}
