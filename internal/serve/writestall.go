package serve

import (
	"net/http"
	"time"
)

// stallWriter gives every write of a response a deadline, WriteStall from
// when it starts: a client that reads nothing (over HTTP/1 once the socket
// buffers are full, over HTTP/2 by granting a stream no flow-control
// window) makes the write fail instead of holding the handler, its place
// in flight and its connection for as long as it likes. A deadline per
// write, not per response, so a long answer to a client that keeps reading
// (an export) is never cut; over HTTP/2 it is the stream's alone.
type stallWriter struct {
	http.ResponseWriter
	rc    *http.ResponseController
	stall time.Duration
}

func newStallWriter(w http.ResponseWriter, stall time.Duration) *stallWriter {
	return &stallWriter{ResponseWriter: w, rc: http.NewResponseController(w), stall: stall}
}

// arm starts the deadline of the next write.
func (w *stallWriter) arm() { _ = w.rc.SetWriteDeadline(time.Now().Add(w.stall)) }

func (w *stallWriter) Write(p []byte) (int, error) {
	w.arm()
	return w.ResponseWriter.Write(p)
}

func (w *stallWriter) WriteHeader(code int) {
	w.arm()
	w.ResponseWriter.WriteHeader(code)
}

// Flush keeps http.Flusher for handlers that stream.
func (w *stallWriter) Flush() {
	w.arm()
	_ = w.rc.Flush()
}

// Unwrap lets http.ResponseController reach the connection's own writer.
func (w *stallWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
