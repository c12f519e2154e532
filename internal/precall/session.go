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
	"github.com/rtcprobe/rtcprobe/probes"
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
	st      *state
	plan    *checks.Plan
	jobs    []checks.Job
	tasks   []browser.Task

	mu     sync.Mutex
	peers  map[int]*browser.CallPeer
	posted bool
	// ended is set under mu (so peer and post see it with posted) but
	// read without it where sessions are counted (under sessions.mu).
	ended atomic.Bool
	// reading is true while one post's body is read and checked: a
	// token has one body in flight at a time.
	reading bool
	// candidates are the remote candidates its calls may still take.
	candidates int
}

var (
	errFull     = errors.New("too many pre-call sessions at once")
	errAnswered = errors.New("this call was answered already")
	errEnded    = errors.New("the session is over")
	errSpent    = errors.New("this session's result was posted already; start a new check")
	errBusy     = errors.New("this session's result is being posted")
)

// mintedFor is srv with TURN REST credentials minted for one session:
// the username's user part ends in the session's random tag, so two
// sessions started in the same second get different credentials (the
// REST username is "expiry:user", and the expiry alone is shared by all
// of that second) and the TURN server's log tells them apart.
func mintedFor(srv probes.Server, now time.Time, tag string) probes.Server {
	if srv.REST != nil {
		r := *srv.REST
		if r.User != "" {
			r.User += "-"
		}
		r.User += tag
		srv.REST = &r
	}
	return srv.Minted(now)
}

// task is the page check of job i.
func (s *session) task(i int) browser.Task { return s.tasks[i] }

// peer returns the pion peer of task i, made with cfg on first use; a
// second offer for the same task is refused.
func (s *session) peer(i int, cfg browser.CallPeerConfig) (*browser.CallPeer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended.Load() || s.posted {
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

// post marks the result posted; false when it was already.
func (s *session) post() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.posted || s.ended.Load() {
		return false
	}
	s.posted = true
	return true
}

// end closes the session's calls; it stays known (as posted or ended)
// until it expires, so a replayed token is told why it is refused.
func (s *session) end() {
	s.mu.Lock()
	s.ended.Store(true)
	peers := s.peers
	s.peers = map[int]*browser.CallPeer{}
	s.mu.Unlock()
	for _, p := range peers {
		p.Close()
	}
}

// sessions are the sessions known, by token.
type sessions struct {
	max int
	now func() time.Time

	mu      sync.Mutex
	byToken map[string]*session
}

func newSessions(max int, now func() time.Time) *sessions {
	return &sessions{max: max, now: now, byToken: map[string]*session{}}
}

// add registers a new session with an unguessable token.
func (ss *sessions) add(s *session) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	live := 0
	for _, o := range ss.byToken {
		if !o.ended.Load() {
			live++
		}
	}
	if live >= ss.max {
		return errFull
	}
	s.token = rand.Text()
	s.peers = map[int]*browser.CallPeer{}
	s.candidates = maxSessionCandidates
	ss.byToken[s.token] = s
	return nil
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

// live counts the sessions in progress.
func (ss *sessions) live() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	n := 0
	for _, s := range ss.byToken {
		if !s.ended.Load() {
			n++
		}
	}
	return n
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
