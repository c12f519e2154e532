package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/coder/websocket"
)

// bidi is a WebDriver BiDi connection (W3C WebDriver BiDi, Firefox's
// native remote protocol): JSON commands with an id over a WebSocket,
// answered by a result or an error with the same id, and events pushed to
// every listener.
type bidi struct {
	ws *websocket.Conn

	mu        sync.Mutex
	next      int64
	pending   map[int64]chan bidiMessage
	listeners map[int]func(method string, params json.RawMessage)
	nextL     int
	err       error         // why the connection ended
	done      chan struct{} // closed when the reader stops
}

// bidiMessage is every message the remote end sends.
type bidiMessage struct {
	Type    string          `json:"type"` // success, error, event
	ID      *int64          `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   string          `json:"error"`
	Message string          `json:"message"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

// BiDiError is an error the browser answered a command with.
type BiDiError struct {
	Method, Code, Message string
}

func (e *BiDiError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Method, e.Code, e.Message)
}

// maxBiDiMessage bounds one message from the browser: page check results
// are a few hundred kilobytes at most.
const maxBiDiMessage = 16 << 20

// errBiDiClosed is a command sent after the connection ended.
var errBiDiClosed = errors.New("WebDriver BiDi connection closed")

// dialBiDi connects to a WebDriver BiDi endpoint (ws://127.0.0.1:PORT/session).
func dialBiDi(ctx context.Context, url string) (*bidi, error) {
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(maxBiDiMessage)
	c := &bidi{ws: ws, pending: map[int64]chan bidiMessage{}, listeners: map[int]func(string, json.RawMessage){}, done: make(chan struct{})}
	go c.read()
	return c, nil
}

// read dispatches answers to their commands and events to the listeners
// until the connection ends.
func (c *bidi) read() {
	defer close(c.done)
	for {
		_, data, err := c.ws.Read(context.Background())
		if err != nil {
			c.mu.Lock()
			c.err = fmt.Errorf("%w: %v", errBiDiClosed, err)
			for id, ch := range c.pending {
				close(ch)
				delete(c.pending, id)
			}
			c.mu.Unlock()
			return
		}
		var msg bidiMessage
		if json.Unmarshal(data, &msg) != nil {
			continue
		}
		c.mu.Lock()
		if msg.Type == "event" {
			ls := make([]func(string, json.RawMessage), 0, len(c.listeners))
			for _, l := range c.listeners {
				ls = append(ls, l)
			}
			c.mu.Unlock()
			for _, l := range ls {
				l(msg.Method, msg.Params)
			}
			continue
		}
		if msg.ID != nil {
			if ch, ok := c.pending[*msg.ID]; ok {
				ch <- msg
				delete(c.pending, *msg.ID)
			}
		}
		c.mu.Unlock()
	}
}

// call sends a command and decodes its result into out (nil: ignored). ctx
// bounds the wait for the answer.
func (c *bidi) call(ctx context.Context, method string, params any, out any) error {
	if params == nil {
		params = struct{}{}
	}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return c.err
	}
	c.next++
	id := c.next
	ch := make(chan bidiMessage, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}
	data, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err != nil {
		forget()
		return err
	}
	if err := c.ws.Write(ctx, websocket.MessageText, data); err != nil {
		forget()
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case msg, ok := <-ch:
		if !ok {
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.err
		}
		if msg.Type == "error" {
			return &BiDiError{Method: method, Code: msg.Error, Message: msg.Message}
		}
		if out != nil {
			return json.Unmarshal(msg.Result, out)
		}
		return nil
	case <-ctx.Done():
		forget()
		return ctx.Err()
	}
}

// listen calls f with every event until the returned function is called.
// f runs on the reader: it must not block.
func (c *bidi) listen(f func(method string, params json.RawMessage)) (stop func()) {
	c.mu.Lock()
	c.nextL++
	n := c.nextL
	c.listeners[n] = f
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(c.listeners, n)
		c.mu.Unlock()
	}
}

// close ends the connection and waits for the reader.
func (c *bidi) close() {
	_ = c.ws.CloseNow()
	<-c.done
}
