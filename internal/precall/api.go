package precall

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/internal/engine"
	"github.com/rtcprobe/rtcprobe/internal/sanitize"
	"github.com/rtcprobe/rtcprobe/internal/store"
)

// Bounds of the session API.
const (
	maxOffer   = 64 << 10 // an SDP offer
	maxResults = 1 << 20  // the posted results
	// maxReport bounds a stored report, as judged (JSON): a real page's
	// is some 24 KiB; long device labels, error texts and candidate lists
	// can make one of 300 KiB from a valid post.
	maxReport = 64 << 10
	// answerTimeout bounds the pion peer's answer (candidate gathering,
	// TURN allocations included).
	answerTimeout = 10 * time.Second

	// Posted results are read and parsed under two budgets, so the heap of
	// many posts at once stays bounded whatever their tokens and bodies:
	// readBudget bounds the bytes of bodies being read (a slow sender
	// holds only its body's bytes), parseBudget the heap of posts being
	// parsed and checked, charged at parseCost per body byte (the parsed
	// tree of a worst-case body, all tiny values, takes some 55 times its
	// size). A post that waits budgetWait for either is refused with 503.
	readBudget  = 32 << 20
	parseBudget = 96 << 20
	parseCost   = 64
	budgetWait  = 10 * time.Second
)

// pageTask is a task as the page receives it.
type pageTask struct {
	ID     int            `json:"id"`
	Check  string         `json:"check"`
	Title  string         `json:"title"`
	Target string         `json:"target"`
	Name   string         `json:"name"`
	Arg    map[string]any `json:"arg"`
}

// serveSession starts a session: a token and the page checks to run,
// with TURN credentials minted for this session only.
func (p *Precall) serveSession(w http.ResponseWriter, r *http.Request) {
	st := p.state.Load()
	if st.disabled {
		http.Error(w, "404 the pre-call page is disabled", http.StatusNotFound)
		return
	}
	if !p.sameOrigin(w, r, st) {
		return
	}
	now := p.opt.Now()
	client := clientAddr(r)
	if ok, which := p.limiter.allow(client, now); !ok {
		p.metrics.refused.WithLabelValues("rate").Inc()
		w.Header().Set("Retry-After", "60")
		limit, who := p.opt.SessionsPerMinute, "address"
		if which == "network" {
			limit, who = limit*networkShare, "network (/24 or /48)"
		}
		http.Error(w, fmt.Sprintf("429 too many requests: at most %d pre-call sessions a minute from one %s", limit, who), http.StatusTooManyRequests)
		return
	}
	s := &session{created: now, expires: now.Add(p.opt.SessionTTL), client: client, st: st}
	// The session's own credentials, tagged with it, lasting past its end
	// for the relays it allocated (credentialTTL).
	s.plan = st.run.Use(now, p.credentialTTL(), rand.Text()[:16])
	for _, j := range s.plan.Jobs() {
		if j.Check.Remote != nil {
			s.jobs = append(s.jobs, j)
		}
	}
	victim, err := p.sessions.add(s)
	if err != nil {
		p.refuseSession(w, err)
		return
	}
	if victim != nil {
		victim.end()
		p.metrics.taken.Inc()
		p.log.Info("pre-call: the page is full; an idle session was ended to make room", "taken_from", storedAddr(victim.client, false), "for", storedAddr(client, false))
	}
	setup := browser.CallSetup{Headers: map[string]string{sessionHeader: s.token}}
	out := struct {
		Token     string     `json:"token"`
		ExpiresIn float64    `json:"expires_in_s"`
		Tasks     []pageTask `json:"tasks"`
	}{Token: s.token, ExpiresIn: p.opt.SessionTTL.Seconds()}
	for i, j := range s.jobs {
		setup.SignalURL = "api/precall/signal/" + strconv.Itoa(i)
		t := j.Check.Remote.Task(j.Subject, s.plan, checks.RemoteEnv{Call: setup})
		s.tasks = append(s.tasks, t)
		out.Tasks = append(out.Tasks, pageTask{ID: i, Check: j.Check.ID, Title: j.Check.Title, Target: j.Subject.Name, Name: t.Name, Arg: t.Arg})
	}
	p.metrics.sessions.Inc()
	writeJSON(w, http.StatusCreated, out)
}

// refuseSession answers a session the cap or its client's share refused:
// 503 when the page is full (anyone may try again shortly), 429 when this
// client's address or network holds its share (until one of its sessions
// ends: its result is posted, or it expires).
func (p *Precall) refuseSession(w http.ResponseWriter, err error) {
	l := p.sessions.currentLimits()
	switch err {
	case errAddress:
		p.metrics.refused.WithLabelValues("address").Inc()
		w.Header().Set("Retry-After", "30")
		http.Error(w, fmt.Sprintf("429 %v (at most %d, its share): finish or wait out a check in progress", err, l.PerAddress), http.StatusTooManyRequests)
	case errNetwork:
		p.metrics.refused.WithLabelValues("network").Inc()
		w.Header().Set("Retry-After", "30")
		http.Error(w, fmt.Sprintf("429 %v (at most %d from one /24 or /48, its share): try again shortly", err, l.PerNetwork), http.StatusTooManyRequests)
	default:
		p.metrics.refused.WithLabelValues("full").Inc()
		w.Header().Set("Retry-After", "10")
		http.Error(w, "503 "+err.Error()+", none of them idle: try again shortly", http.StatusServiceUnavailable)
	}
}

// sameOrigin refuses a request a page of another site sent (403): its
// visitors' browsers would otherwise start sessions here from their
// addresses, around every per-client share. A browser says where a
// request comes from (Sec-Fetch-Site, Origin); a request with neither is
// not a browser's cross-site one (curl, a script) and passes, held to its
// own address's shares.
func (p *Precall) sameOrigin(w http.ResponseWriter, r *http.Request, st *state) bool {
	if st.origin == nil || st.origin.Check(r) == nil {
		return true
	}
	p.metrics.refused.WithLabelValues("origin").Inc()
	http.Error(w, "403 forbidden: a cross-origin request (Origin or Sec-Fetch-Site is not this page's own); "+
		"open the pre-call page from this server", http.StatusForbidden)
	return false
}

// session returns the request's session, counted as in flight until the
// caller calls p.sessions.done, or answers with why not: 403 for a
// missing, wrong or expired token, 410 for a session taken for a
// newcomer.
func (p *Precall) session(w http.ResponseWriter, r *http.Request) *session {
	if !p.sameOrigin(w, r, p.state.Load()) {
		return nil
	}
	token := r.Header.Get(sessionHeader)
	s, err := p.sessions.open(token)
	switch {
	case err == errTaken:
		http.Error(w, "410 gone: "+err.Error(), http.StatusGone)
		return nil
	case token == "" || s == nil:
		if s != nil {
			p.sessions.done(s)
		}
		http.Error(w, "403 forbidden: no session with this token (it is missing, wrong or expired)", http.StatusForbidden)
		return nil
	}
	return s
}

// serveSignal answers an interop task's offer with its pion peer's
// answer.
func (p *Precall) serveSignal(w http.ResponseWriter, r *http.Request) {
	s := p.session(w, r)
	if s == nil {
		return
	}
	defer p.sessions.done(s)
	i, err := strconv.Atoi(r.PathValue("task"))
	if err != nil || i < 0 || i >= len(s.jobs) || s.tasks[i].Name != "interop" {
		http.Error(w, "404 no call task "+strconv.Quote(clean(r.PathValue("task"), 20))+" in this session", http.StatusNotFound)
		return
	}
	offer, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOffer))
	if err != nil {
		tooLarge(w, err, maxOffer)
		return
	}
	if !strings.HasPrefix(string(offer), "v=0") {
		http.Error(w, "400 bad request: the body is not an SDP offer", http.StatusBadRequest)
		return
	}
	// The offer's candidates are judged before pion sees one of them.
	limit := s.reserveCandidates(maxCallCandidates)
	f, err := p.candidatePolicy(s.st).filter(string(offer), limit)
	s.refundCandidates(limit - f.kept)
	if err != nil {
		http.Error(w, "400 bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	p.metrics.candidates.WithLabelValues("accepted").Add(float64(f.kept))
	for why, n := range f.dropped {
		p.metrics.candidates.WithLabelValues(why).Add(float64(n))
	}
	if len(f.dropped) > 0 {
		p.log.Info("pre-call: remote candidates dropped", "check", s.jobs[i].Check.ID, "target", s.jobs[i].Subject.Name, "kept", f.kept, "dropped", f.summary())
	}
	cfg := browser.CallPeerConfig{Hosted: true, IncludeLoopback: s.client.IsLoopback(), STUN: s.plan.Servers,
		Addresses: s.st.peerAddresses, RefusedCandidates: f.summary()}
	if t := s.jobs[i].Subject.Target; t.Server.IsTURN() {
		cfg.Relay = &t
	}
	peer, err := s.peer(i, cfg)
	if err != nil {
		s.refundCandidates(f.kept)
		http.Error(w, "409 conflict: "+err.Error(), http.StatusConflict)
		return
	}
	// A call starts (each task calls once): the session is at work.
	p.sessions.active(s)
	ctx, cancel := context.WithTimeout(r.Context(), answerTimeout)
	defer cancel()
	answer, err := peer.Answer(ctx, f.sdp)
	if err != nil {
		p.log.Warn("pre-call: the pion peer could not answer", "check", s.jobs[i].Check.ID, "target", s.jobs[i].Subject.Name, "err", err)
		http.Error(w, "502 the server's peer could not answer: "+clean(err.Error(), 300), http.StatusBadGateway)
		return
	}
	p.metrics.calls.Inc()
	p.sessions.active(s) // the call is up from now
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, answer)
}

// lingerRefused lets a client still sending a refused post read the
// answer: the answer goes out first, then up to lingerBytes of the body
// are thrown away (a small buffer, no copy kept) for at most lingerTime.
// Closing with the body unread makes the kernel reset the connection, and
// a client busy writing then loses the answer with it.
func lingerRefused(w http.ResponseWriter, r *http.Request) {
	if w.Header().Get("Connection") != "close" {
		return // the body was read whole
	}
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	if rc.SetReadDeadline(time.Now().Add(lingerTime)) != nil {
		return // HTTP/2: the stream is reset, the connection lives on
	}
	_, _ = io.CopyN(io.Discard, r.Body, lingerBytes)
}

const (
	lingerTime  = time.Second
	lingerBytes = 1 << 20
)

// serveResult judges the posted results, stores the report and answers
// with its ID and the verdict in words. The session's token is good for
// one stored result: a post whose write failed leaves it good, for the
// page to retry.
func (p *Precall) serveResult(w http.ResponseWriter, r *http.Request) {
	// A refused post's body is never read into memory: the connection
	// closes after the answer instead of draining it.
	w.Header().Set("Connection", "close")
	defer lingerRefused(w, r)
	s := p.session(w, r)
	if s == nil {
		return
	}
	defer p.sessions.done(s)
	// The token and its state are checked before a byte of the body is
	// read: a spent token, or a second post while one is in flight, costs
	// nothing.
	if err := s.claim(); err != nil {
		p.metrics.refused.WithLabelValues("replay").Inc()
		http.Error(w, "409 conflict: "+err.Error(), http.StatusConflict)
		return
	}
	defer s.release()
	if p.opt.Store.ReadOnly() {
		p.storeFailed(w, store.ErrReadOnly)
		return
	}
	// The client's hourly results are counted before the body is read,
	// and given back unless its result is stored or its session ended
	// over it (a report too large).
	client := clientAddr(r)
	if ok, wait, which := p.quota.take(client, p.opt.Now()); !ok {
		p.overQuota(w, wait, which)
		return
	}
	spent := false
	defer func() {
		if !spent {
			p.quota.refund(client)
		}
	}()
	// A retry after a failed write stores what the first post was judged
	// to be; its body is not read again.
	j := s.pending()
	if j == nil {
		if j = p.judgePost(w, r, s); j == nil {
			return
		}
		if n := len(j.row.Report); n > maxReport {
			// Judging read the calls' stats; this session cannot give a
			// smaller report, so it ends, and the result it cost is spent
			// (else such posts would end sessions for free).
			spent = true
			s.end()
			p.metrics.refused.WithLabelValues("too_large").Inc()
			http.Error(w, fmt.Sprintf("413 request entity too large: the judged report is %d KiB, more than the %d KiB a stored result may take; start a new check", (n+1023)>>10, maxReport>>10),
				http.StatusRequestEntityTooLarge)
			return
		}
		s.keep(j)
		p.sessions.active(s) // judged: the page retries a failed write
	}
	start := time.Now()
	// The result is acknowledged only once it is stored durably.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
	defer cancel()
	if err := p.put(ctx, j.row); err != nil {
		p.storeFailed(w, err)
		return
	}
	spent = true
	s.stored()
	s.end()
	p.health.wrote()
	p.metrics.writeSeconds.Observe(time.Since(start).Seconds())
	p.metrics.results.WithLabelValues(j.row.Verdict).Inc()
	p.log.Info("pre-call result", "id", j.row.ID, "verdict", j.row.Verdict, "browser", j.row.Browser, "client", j.row.Client)
	v := summarize(j.rep)
	writeJSON(w, http.StatusCreated, struct {
		ID       string   `json:"id"`
		Link     string   `json:"link"`
		Verdict  string   `json:"verdict"`
		Success  bool     `json:"success"`
		Headline string   `json:"headline"`
		Lines    []string `json:"lines"`
		Details  []detail `json:"details"`
	}{ID: j.row.ID, Link: "r/" + j.row.ID, Verdict: j.row.Verdict, Success: engine.OutcomeOf(j.rep).Success(), Headline: v.Headline, Lines: v.Lines, Details: details(j.rep)})
}

// judgePost reads, parses and checks a post under the memory budgets and
// judges it; nil when it answered with why not.
func (p *Precall) judgePost(w http.ResponseWriter, r *http.Request, s *session) *judgedResult {
	size := int64(maxResults)
	switch {
	case r.ContentLength > maxResults:
		http.Error(w, fmt.Sprintf("413 request entity too large: at most %d KiB", maxResults>>10), http.StatusRequestEntityTooLarge)
		return nil
	case r.ContentLength >= 0:
		size = r.ContentLength
	}
	ctx, cancel := context.WithTimeout(r.Context(), p.budgetWait)
	defer cancel()
	if err := p.readBudget.Acquire(ctx, size); err != nil {
		p.busy(w)
		return nil
	}
	defer p.readBudget.Release(size)
	// One buffer of the announced size: reading grows no copies.
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, size)); err != nil {
		tooLarge(w, err, maxResults)
		return nil
	}
	body := buf.Bytes()
	w.Header().Del("Connection") // read whole: the connection may stay
	cost := int64(len(body)) * parseCost
	if err := p.parseBudget.Acquire(ctx, cost); err != nil {
		p.busy(w)
		return nil
	}
	in, tree, err := decodePosted(body)
	var byTask map[int]postedTask
	if err == nil {
		byTask, err = check(s, in, tree)
	}
	tree = nil
	p.parseBudget.Release(cost)
	if err != nil {
		badInput(w, err)
		return nil
	}
	rep, row, err := judge(s, in, byTask, p.opt.Now())
	if err != nil {
		badInput(w, err)
		return nil
	}
	return &judgedResult{rep: rep, row: row}
}

// put stores a row. A write that failed may have committed (the answer
// was lost with the connection): a retry finds it stored.
func (p *Precall) put(ctx context.Context, row store.Result) error {
	err := p.opt.Store.Put(ctx, row)
	if err == nil {
		return nil
	}
	if _, gerr := p.opt.Store.Get(ctx, row.ID); gerr == nil {
		return nil
	}
	return err
}

// storeFailed answers a result the store could not take: 503, naming the
// store's problem in a word (never a path or DSN), and the token still
// good for a retry.
func (p *Precall) storeFailed(w http.ResponseWriter, err error) {
	problem := store.Problem(err)
	p.log.Error("pre-call: storing a result failed", "problem", problem, "err", err)
	p.metrics.refused.WithLabelValues("store").Inc()
	p.health.failed(problem)
	w.Header().Set("Retry-After", strconv.Itoa(storeRetryAfter))
	http.Error(w, fmt.Sprintf("503 the result could not be stored: the results database is %s; the result is kept for this session: try again in %d s", problem, storeRetryAfter),
		http.StatusServiceUnavailable)
}

// storeRetryAfter is the Retry-After of a failed write, in seconds.
const storeRetryAfter = 5

// overQuota answers a client that stored its hour's results.
func (p *Precall) overQuota(w http.ResponseWriter, wait time.Duration, which string) {
	p.metrics.refused.WithLabelValues("quota").Inc()
	secs := max(1, int(wait.Seconds()+0.999))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	limit, who := p.quota.limit(), "address"
	if which == "network" {
		limit, who = limit*networkShare, "network (/24 or /48)"
	}
	http.Error(w, fmt.Sprintf("429 too many requests: at most %d results an hour from one %s; try again in %d s", limit, who, secs), http.StatusTooManyRequests)
}

// busy answers a post that found no budget to be read or parsed in time.
func (p *Precall) busy(w http.ResponseWriter) {
	p.metrics.refused.WithLabelValues("busy").Inc()
	w.Header().Set("Retry-After", "5")
	http.Error(w, "503 too many results are being posted at once: try again shortly", http.StatusServiceUnavailable)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// tooLarge answers a body read that failed: 413 past the limit.
func tooLarge(w http.ResponseWriter, err error, limit int64) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		http.Error(w, fmt.Sprintf("413 request entity too large: at most %d KiB", min(limit, mbe.Limit)>>10), http.StatusRequestEntityTooLarge)
		return
	}
	http.Error(w, "400 bad request: reading the body: "+clean(err.Error(), 200), http.StatusBadRequest)
}

// badInput answers input that breaks the schema with 400 naming the
// field; anything else is our own fault.
func badInput(w http.ResponseWriter, err error) {
	var fe *FieldError
	if errors.As(err, &fe) {
		http.Error(w, "400 bad request: "+clean(fe.Field, 200)+": "+clean(fe.Msg, 300), http.StatusBadRequest)
		return
	}
	http.Error(w, "500 "+clean(err.Error(), 300), http.StatusInternalServerError)
}

// clean makes untrusted text safe to echo: control characters shown as
// escapes (the one sanitizer), cut to n bytes.
func clean(s string, n int) string {
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return sanitize.Text(s)
}
