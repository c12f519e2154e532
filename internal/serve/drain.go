package serve

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// conns tracks the open connections and what each is doing, so a drain
// waits for requests being served and for nothing else: net/http's
// Shutdown waits for every connection that has started a request,
// including one that sends half a header or a body that never comes (a
// held connection made a drain last its whole timeout).
type conns struct {
	mu sync.Mutex
	m  map[net.Conn]*connInfo
}

type connInfo struct {
	conn net.Conn
	// limited is its place in the connection limiter (nil: none).
	limited *limitedConn
	// handlers are requests being served on it (HTTP/2: streams).
	handlers int
	// bodies are requests whose handler may still read a body.
	bodies int
	// quiet counts drain sweeps that found no handler on it.
	quiet int
	// cut is set once the drain has put a deadline on its bodies.
	cut bool
	// h2 is set by its first HTTP/2 request.
	h2 bool
}

type connKey struct{}

// bodyGrace is how long, from the start of a drain, a request body still
// arriving may take: a client uploading finishes, one stalling does not.
const bodyGrace = time.Second

func newConns() *conns { return &conns{m: map[net.Conn]*connInfo{}} }

// context is http.Server.ConnContext: it registers the connection.
func (t *conns) context(ctx context.Context, c net.Conn) context.Context {
	ci := &connInfo{conn: c, limited: limitedOf(c)}
	t.mu.Lock()
	t.m[c] = ci
	t.mu.Unlock()
	return context.WithValue(ctx, connKey{}, ci)
}

// state is http.Server.ConnState: it forgets closed connections.
func (t *conns) state(c net.Conn, st http.ConnState) {
	if st == http.StateClosed || st == http.StateHijacked {
		t.mu.Lock()
		delete(t.m, c)
		t.mu.Unlock()
	}
}

// track marks a request as being served on its connection, and its body
// as pending until read to its end. Every request body gets a deadline
// (a minimum rate, BodyTimeout for MaxBodyBytes), the routes that do not
// read it too: net/http reads what is left after the handler, with no
// deadline of its own. A body read to its end lifts the deadline: net/http
// then reads in the background to see the client go away, and a deadline
// there would cancel the request.
func (s *Server) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ci, _ := r.Context().Value(connKey{}).(*connInfo) // nil when served elsewhere (tests)
		hasBody := r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody
		s.conns.begin(ci, hasBody, r.ProtoMajor == 2)
		defer s.conns.end(ci)
		sw := newStallWriter(w, s.limits.WriteStall)
		// Armed now for what net/http writes unasked (100 Continue), and
		// again after the handler for the last flush, which net/http does
		// once the handler has returned.
		sw.arm()
		defer sw.arm()
		w = sw
		if hasBody {
			rc := http.NewResponseController(w)
			_ = rc.SetReadDeadline(time.Now().Add(s.limits.BodyTimeout))
			tb := &trackedBody{ReadCloser: r.Body, end: func(ended bool) {
				s.conns.bodyDone(ci)
				if ended {
					_ = rc.SetReadDeadline(time.Time{})
				}
			}}
			// Not read to its end: what net/http reads of it after the
			// handler stays under the deadline.
			defer tb.finish(false)
			r.Body = tb
		}
		h.ServeHTTP(w, r)
	})
}

func (t *conns) begin(ci *connInfo, body, h2 bool) {
	if ci == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	ci.handlers++
	if ci.limited != nil {
		ci.limited.serving.Add(1)
	}
	ci.quiet = 0
	ci.h2 = ci.h2 || h2
	if body {
		ci.bodies++
	}
}

func (t *conns) end(ci *connInfo) {
	if ci == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	ci.handlers--
	if ci.limited != nil {
		ci.limited.serving.Add(-1)
	}
}

func (t *conns) bodyDone(ci *connInfo) {
	if ci == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	ci.bodies--
}

// trackedBody calls end once: when its body has been read to the end
// (true) or failed, or when its handler is done with it (false).
type trackedBody struct {
	io.ReadCloser
	once sync.Once
	end  func(ended bool)
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.finish(err == io.EOF)
	}
	return n, err
}

func (b *trackedBody) finish(ended bool) { b.once.Do(func() { b.end(ended) }) }

// sweep is one pass of a drain: a connection with no request being
// served (reading a header, idle, or read after its handler ended) seen
// so by two passes in a row is closed; one whose handler may still read a
// body gets bodyGrace to send it (HTTP/1 only: on HTTP/2 the deadline
// would cut every stream of the connection).
func (t *conns) sweep(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for c, ci := range t.m {
		if ci.handlers == 0 {
			// Two passes: a response just written may still be on its
			// way out of net/http's buffer after its handler returned.
			if ci.quiet++; ci.quiet >= 2 {
				_ = c.Close()
				delete(t.m, c)
				continue
			}
		} else if ci.bodies > 0 && !ci.cut && !ci.h2 {
			ci.cut = true
			_ = c.SetReadDeadline(now.Add(bodyGrace))
		}
	}
}

// drainConns sweeps until stop closes.
func (t *conns) drainConns(stop <-chan struct{}) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		t.sweep(time.Now())
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// count is how many connections are open and requests being served.
func (t *conns) count() (open, requests int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ci := range t.m {
		requests += ci.handlers
	}
	return len(t.m), requests
}

// drainError says what a drain that ran out of time was waiting for.
func drainError(open, requests int) error {
	if requests > 0 {
		return fmt.Errorf("drain timed out: %d requests still being served on %d connections", requests, open)
	}
	return fmt.Errorf("drain timed out: %d connections still open, no request being served on them", open)
}
