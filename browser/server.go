package browser

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

//go:embed pages
var pagesFS embed.FS

// Pages returns the check pages (index.html, rtcprobe.js), so they can be
// served elsewhere as a self-service pre-call test.
func Pages() fs.FS {
	sub, err := fs.Sub(pagesFS, "pages")
	if err != nil {
		panic(err) // the embedded tree always has pages/
	}
	return sub
}

// signalFunc answers an SDP offer with an SDP answer.
type signalFunc func(ctx context.Context, offer string) (string, error)

// pageServer serves the check pages and the signaling endpoint of calls
// with a pion peer, on 127.0.0.1 only.
type pageServer struct {
	srv    *http.Server
	ln     net.Listener
	origin string
	// ownSite is the same server as another site (127.0.0.1, also a
	// secure context), for the pages that count frames on their main
	// thread (PageCheck.OwnRenderer): Chrome gives all the pages of a
	// site one renderer (--process-per-site), and one main thread
	// running every tab's script left those pages a share of it.
	ownSite string

	mu     sync.Mutex
	peers  map[string]signalFunc
	relays map[string]*relay
	done   chan struct{}
}

func startPageServer() (*pageServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("page server: %w", err)
	}
	// localhost is a secure context, which getUserMedia requires (so is
	// 127.0.0.1, the second site); Chrome resolves it to loopback itself.
	port := ln.Addr().(*net.TCPAddr).Port
	p := &pageServer{ln: ln, origin: fmt.Sprintf("http://localhost:%d", port), ownSite: fmt.Sprintf("http://127.0.0.1:%d", port),
		peers: map[string]signalFunc{}, relays: map[string]*relay{}, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServerFS(Pages()))
	mux.HandleFunc("POST /signal/{id}", p.signal)
	mux.HandleFunc("GET /relay/{id}/offer", p.relayOffer)
	mux.HandleFunc("POST /relay/{id}/answer", p.relayAnswer)
	// Every exchange has a deadline; the write one outlasts any check's
	// own, since an answer may wait for ICE gathering.
	// Only the local browser connects, and it sends a request's headers
	// at once; a socket it opens ahead (Chrome preconnects) and never uses
	// is closed after 2 s instead of lingering.
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 2 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: time.Minute}
	// A few requests per tab: no idle connections (and their goroutines)
	// kept open between checks.
	p.srv.SetKeepAlivesEnabled(false)
	go func() {
		defer close(p.done)
		_ = p.srv.Serve(ln)
	}()
	return p, nil
}

// register makes /signal/id answer offers with f until the returned
// function is called.
func (p *pageServer) register(id string, f signalFunc) (unregister func()) {
	p.mu.Lock()
	p.peers[id] = f
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		delete(p.peers, id)
		p.mu.Unlock()
	}
}

// registerRelay makes /relay/id/ serve the answering side of a relayed
// call until the returned function is called.
func (p *pageServer) registerRelay(id string, rl *relay) (unregister func()) {
	p.mu.Lock()
	p.relays[id] = rl
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		delete(p.relays, id)
		p.mu.Unlock()
	}
}

func (p *pageServer) relayFor(w http.ResponseWriter, r *http.Request) *relay {
	p.mu.Lock()
	rl := p.relays[r.PathValue("id")]
	p.mu.Unlock()
	if rl == nil {
		http.Error(w, "no such call", http.StatusNotFound)
	}
	return rl
}

// relayOffer answers with the offer once the offering side has posted it.
func (p *pageServer) relayOffer(w http.ResponseWriter, r *http.Request) {
	rl := p.relayFor(w, r)
	if rl == nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	offer, err := rl.takeOffer(ctx)
	if err != nil {
		http.Error(w, err.Error(), http.StatusGatewayTimeout)
		return
	}
	w.Header().Set("Content-Type", "application/sdp")
	_, _ = io.Copy(w, strings.NewReader(offer))
}

// relayAnswer takes the answer to the offer.
func (p *pageServer) relayAnswer(w http.ResponseWriter, r *http.Request) {
	rl := p.relayFor(w, r)
	if rl == nil {
		return
	}
	answer, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = rl.giveAnswer(string(answer))
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (p *pageServer) signal(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	f := p.peers[r.PathValue("id")]
	p.mu.Unlock()
	if f == nil {
		http.Error(w, "no such call", http.StatusNotFound)
		return
	}
	offer, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// Long enough for another browser to open its devices and answer.
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	answer, err := f(ctx, string(offer))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/sdp")
	_, _ = io.Copy(w, strings.NewReader(answer))
}

func (p *pageServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		_ = p.srv.Close()
	}
	_ = p.srv.Close()
	<-p.done
}
