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
	"github.com/rtcprobe/rtcprobe/internal/sanitize"
	"github.com/rtcprobe/rtcprobe/probes"
)

// Bounds of the session API.
const (
	maxOffer   = 64 << 10 // an SDP offer
	maxResults = 1 << 20  // the posted results
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
	now := p.opt.Now()
	client := clientAddr(r)
	if !p.limiter.allow(client, now) {
		p.metrics.refused.WithLabelValues("rate").Inc()
		w.Header().Set("Retry-After", "60")
		http.Error(w, fmt.Sprintf("429 too many requests: at most %d pre-call sessions a minute from one address", p.opt.SessionsPerMinute), http.StatusTooManyRequests)
		return
	}
	s := &session{created: now, expires: now.Add(p.opt.SessionTTL), client: client, st: st}
	plan := *st.run.Plan
	plan.Servers = make([]probes.Server, len(st.run.Plan.Servers))
	tag := rand.Text()[:16]
	for i, srv := range st.run.Plan.Servers {
		plan.Servers[i] = mintedFor(srv, now, tag)
	}
	s.plan = &plan
	for _, j := range plan.Jobs() {
		if j.Check.Remote != nil {
			s.jobs = append(s.jobs, j)
		}
	}
	if err := p.sessions.add(s); err != nil {
		p.metrics.refused.WithLabelValues("full").Inc()
		w.Header().Set("Retry-After", "10")
		http.Error(w, "503 "+err.Error()+": try again shortly", http.StatusServiceUnavailable)
		return
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

// session returns the request's session, or answers with why not.
func (p *Precall) session(w http.ResponseWriter, r *http.Request) *session {
	token := r.Header.Get(sessionHeader)
	s := p.sessions.get(token)
	if token == "" || s == nil {
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
	ctx, cancel := context.WithTimeout(r.Context(), answerTimeout)
	defer cancel()
	answer, err := peer.Answer(ctx, f.sdp)
	if err != nil {
		p.log.Warn("pre-call: the pion peer could not answer", "check", s.jobs[i].Check.ID, "target", s.jobs[i].Subject.Name, "err", err)
		http.Error(w, "502 the server's peer could not answer: "+clean(err.Error(), 300), http.StatusBadGateway)
		return
	}
	p.metrics.calls.Inc()
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
// one result.
func (p *Precall) serveResult(w http.ResponseWriter, r *http.Request) {
	// A refused post's body is never read into memory: the connection
	// closes after the answer instead of draining it.
	w.Header().Set("Connection", "close")
	defer lingerRefused(w, r)
	s := p.session(w, r)
	if s == nil {
		return
	}
	// The token and its state are checked before a byte of the body is
	// read: a spent token, or a second post while one is in flight, costs
	// nothing.
	if err := s.claim(); err != nil {
		p.metrics.refused.WithLabelValues("replay").Inc()
		http.Error(w, "409 conflict: "+err.Error(), http.StatusConflict)
		return
	}
	defer s.release()
	size := int64(maxResults)
	switch {
	case r.ContentLength > maxResults:
		http.Error(w, fmt.Sprintf("413 request entity too large: at most %d KiB", maxResults>>10), http.StatusRequestEntityTooLarge)
		return
	case r.ContentLength >= 0:
		size = r.ContentLength
	}
	ctx, cancel := context.WithTimeout(r.Context(), p.budgetWait)
	defer cancel()
	if err := p.readBudget.Acquire(ctx, size); err != nil {
		p.busy(w)
		return
	}
	defer p.readBudget.Release(size)
	// One buffer of the announced size: reading grows no copies.
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, size)); err != nil {
		tooLarge(w, err, maxResults)
		return
	}
	body := buf.Bytes()
	w.Header().Del("Connection") // read whole: the connection may stay
	cost := int64(len(body)) * parseCost
	if err := p.parseBudget.Acquire(ctx, cost); err != nil {
		p.busy(w)
		return
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
		return
	}
	if !s.post() {
		p.metrics.refused.WithLabelValues("replay").Inc()
		http.Error(w, "409 conflict: this session's result was posted already; start a new check", http.StatusConflict)
		return
	}
	defer s.end()
	now := p.opt.Now()
	rep, row, err := judge(s, in, byTask, now)
	if err != nil {
		badInput(w, err)
		return
	}
	start := time.Now()
	// The result is acknowledged only once it is stored durably.
	ctx, cancel = context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
	defer cancel()
	if err := p.opt.Store.Put(ctx, row); err != nil {
		p.log.Error("pre-call: storing a result failed", "err", err)
		http.Error(w, "500 the result could not be stored", http.StatusInternalServerError)
		return
	}
	p.metrics.writeSeconds.Observe(time.Since(start).Seconds())
	p.metrics.results.WithLabelValues(row.Verdict).Inc()
	p.log.Info("pre-call result", "id", row.ID, "verdict", row.Verdict, "browser", row.Browser, "client", row.Client)
	v := summarize(rep)
	writeJSON(w, http.StatusCreated, struct {
		ID       string   `json:"id"`
		Link     string   `json:"link"`
		Verdict  string   `json:"verdict"`
		Headline string   `json:"headline"`
		Lines    []string `json:"lines"`
		Details  []detail `json:"details"`
	}{ID: row.ID, Link: "r/" + row.ID, Verdict: row.Verdict, Headline: v.Headline, Lines: v.Lines, Details: details(rep)})
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
