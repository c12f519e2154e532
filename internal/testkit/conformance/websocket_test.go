package conformance

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/internal/testkit/janus"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// wsCase is one signaling server and URL run through the rtcprobe binary
// with the flags a user types.
type wsCase struct {
	name   string
	url    string
	flags  []string
	status string
	words  []string // in the error or the advice
	// step is an observation the report must hold: "STEP OUTCOME", with
	// code when not 0.
	step string
	code int
}

// check runs the case and asserts its verdict; no advice of another
// family (STUN) may appear.
func (c wsCase) check(t *testing.T) {
	t.Helper()
	args := append([]string{"--json", "-", "--checks", "signaling", "--signaling", c.url}, c.flags...)
	rep := runBinary(t, args...)
	if len(rep.Checks) != 1 {
		t.Fatalf("%d checks, want signaling.websocket", len(rep.Checks))
	}
	r := rep.Checks[0]
	words := r.Error + " " + r.Advice
	t.Logf("%s: %s — %s | %s", c.name, r.Status, r.Error, r.Advice)
	if r.Status != c.status {
		t.Errorf("status %s, want %s", r.Status, c.status)
	}
	for _, w := range c.words {
		if !strings.Contains(words, w) {
			t.Errorf("verdict lacks %q", w)
		}
	}
	if strings.Contains(words, "STUN") {
		t.Errorf("the verdict speaks of STUN")
	}
	if c.step == "" {
		return
	}
	var seen []string
	for _, o := range r.Observations {
		seen = append(seen, fmt.Sprintf("%s %s %d", o.Step, o.Outcome, o.Code))
		if o.Step+" "+string(o.Outcome) == c.step && (c.code == 0 || o.Code == c.code) {
			return
		}
	}
	t.Errorf("no observation %q (code %d) among %q", c.step, c.code, seen)
}

// TestWebSocketSignalingServers points rtcprobe at signaling servers in
// wide use: socket.io (and simple-peer-server, built on it), y-webrtc's
// signaling server and WebSocket-Node, each as its documentation sets it
// up, with the URLs and flags users get right and wrong.
func TestWebSocketSignalingServers(t *testing.T) {
	testenv.CheckGoroutines(t)
	sio := startNode(t, "socketio-server.js")
	simplePeer := startNode(t, "socketio-server.js", "simple-peer")
	yWebRTC := startNode(t, "y-webrtc-signaling.mjs")
	accept := startNode(t, "websocket-node.js", "accept")
	protocol := startNode(t, "websocket-node.js", "protocol")
	origin := startNode(t, "websocket-node.js", "origin")
	ws := func(port int, path string) string { return fmt.Sprintf("ws://127.0.0.1:%d%s", port, path) }
	cases := []wsCase{
		{name: "socket.io, EIO=4", url: ws(sio, "/socket.io/?EIO=4&transport=websocket"), status: "pass",
			step: "HTTP Upgrade answered", code: 101},
		{name: "socket.io, EIO=3", url: ws(sio, "/socket.io/?EIO=3&transport=websocket"), status: "fail",
			words: []string{"not a WebSocket frame", "RFC 6455 §5.2", "HTTP/1.1 400 Bad Request", "Unsupported protocol version", "protocol version the URL asks for"},
			step:  "first frame not_protocol"},
		{name: "socket.io, wrong path", url: ws(sio, "/signal/?EIO=4&transport=websocket"), status: "fail",
			words: []string{"without an HTTP answer", "plain HTTP 404 Not Found", "nothing serves WebSocket at this path"},
			step:  "follow-up: HTTP GET error_response", code: 404},
		{name: "simple-peer-server", url: ws(simplePeer, "/socket.io/?EIO=4&transport=websocket"), status: "pass",
			step: "HTTP Upgrade answered", code: 101},
		{name: "y-webrtc signaling", url: ws(yWebRTC, "/"), status: "pass", step: "HTTP Upgrade answered", code: 101},
		{name: "WebSocket-Node, accepting", url: ws(accept, "/"), status: "pass", step: "HTTP Upgrade answered", code: 101},
		{name: "WebSocket-Node, subprotocol required, none offered", url: ws(protocol, "/"), status: "fail",
			words: []string{"requires a subprotocol", "echo-protocol", "X-WebSocket-Reject-Reason", "--ws-protocol"},
			step:  "HTTP Upgrade error_response", code: 400},
		{name: "WebSocket-Node, subprotocol required, offered", url: ws(protocol, "/"), flags: []string{"--ws-protocol", "echo-protocol"},
			status: "pass", step: "HTTP Upgrade answered", code: 101},
		{name: "WebSocket-Node, origin refused", url: ws(origin, "/"), status: "fail",
			words: []string{"refuses this client", "403 Forbidden", "origin"},
			step:  "HTTP Upgrade error_response", code: 403},
	}
	for _, c := range cases {
		t.Run(c.name, c.check)
	}
}

// TestWebSocketJanus: Janus's WebSocket API (the websockets transport of
// Debian's janus package) with its subprotocol offered, and without.
func TestWebSocketJanus(t *testing.T) {
	testenv.Heavy(t, "starts Janus in a network namespace")
	j := janus.StartJanus(t, janus.JanusConfig{})
	u := fmt.Sprintf("ws://%s:%d/", j.Host, janus.JanusWSPort)
	wsCase{name: "Janus, janus-protocol", url: u, flags: []string{"--ws-protocol", "janus-protocol"}, status: "pass",
		step: "HTTP Upgrade answered", code: 101}.check(t)
	// Janus (libwebsockets) drops an Upgrade without its subprotocol and
	// answers a plain GET with 403: the follow-up leaves two causes.
	wsCase{name: "Janus, no subprotocol", url: u, status: "fail",
		words: []string{"without an HTTP answer", "Cannot tell from here", "requires a subprotocol", "--ws-protocol"},
		step:  "follow-up: HTTP GET error_response", code: 403}.check(t)
}
