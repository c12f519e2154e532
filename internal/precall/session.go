package precall

import (
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
type sessions struct {
	now func() time.Time

	mu      sync.Mutex
	limits  config.SessionLimits
	byToken map[string]*session
	live    int
	byAddr  map[netip.Prefix]int
	byNet   map[netip.Prefix]int
}

func newSessions(limits config.SessionLimits, now func() time.Time) *sessions {
	return &sessions{limits: limits, now: now, byToken: map[string]*session{}, byAddr: map[netip.Prefix]int{}, byNet: map[netip.Prefix]int{}}
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

// add registers a new session with an unguessable token if it fits the
// cap and its client's shares; the error says which refused it.
func (ss *sessions) add(s *session) error {
	addr, network := clientKeys(s.client)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	switch {
	case ss.byAddr[addr] >= ss.limits.PerAddress:
		return errAddress
	case ss.byNet[network] >= ss.limits.PerNetwork:
		return errNetwork
	case ss.live >= ss.limits.Max:
		return errFull
	}
	ss.live++
	ss.byAddr[addr]++
	ss.byNet[network]++
	s.ss = ss
	s.token = rand.Text()
	s.peers = map[int]*browser.CallPeer{}
	s.candidates = maxSessionCandidates
	ss.byToken[s.token] = s
	return nil
}

// ended takes a session that ended off the counts (once: end calls it
// the first time only).
func (ss *sessions) ended(s *session) {
	addr, network := clientKeys(s.client)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.live--
	if ss.byAddr[addr]--; ss.byAddr[addr] <= 0 {
		delete(ss.byAddr, addr)
	}
	if ss.byNet[network]--; ss.byNet[network] <= 0 {
		delete(ss.byNet, network)
	}
}

// get returns the session of a token, or nil (unknown or expired).
func (ss *sessions) get(token string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byToken[token]
	if s == nil || ss.now().After(s.expires) {
		return nil
	}
	return s
}

// inProgress counts the sessions in progress.
func (ss *sessions) inProgress() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.live
}

// expire forgets expired sessions and ends their calls.
func (ss *sessions) expire() {
	now := ss.now()
	var gone []*session
	ss.mu.Lock()
	for t, s := range ss.byToken {
		if now.After(s.expires) {
			gone = append(gone, s)
			delete(ss.byToken, t)
		}
	}
	ss.mu.Unlock()
	for _, s := range gone {
		s.end()
	}
}

// closeAll ends every session (the server drains).
func (ss *sessions) closeAll() {
	ss.mu.Lock()
	all := make([]*session, 0, len(ss.byToken))
	for _, s := range ss.byToken {
		all = append(all, s)
	}
	ss.mu.Unlock()
	for _, s := range all {
		s.end()
	}
}
