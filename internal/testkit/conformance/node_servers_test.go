package conformance

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// TestNodeTURN: node-turn accepts ChannelBind but relays no ChannelData.
// rtcprobe finds that out with Send indications and names it, instead of
// blaming relay-ip or a firewall; node-turn serves UDP only, so the TCP
// diagnostic warns.
func TestNodeTURN(t *testing.T) {
	testenv.CheckGoroutines(t)
	port := coturn.FreePort(t)
	startNode(t, "turn-server.js", strconv.Itoa(port), "u", "p")
	rs := run{uris: []string{fmt.Sprintf("turn:127.0.0.1:%d", port)}, user: "u", password: "p", ids: "turn,firewall", packets: 10}.do(t)
	udp := result(t, rs, "turn.udp")
	want(t, udp, checks.Fail, []string{"channel_data_relayed", "does not relay ChannelData", "server bug"}, "relay-ip", "firewall")
	if udp.Metrics["packets_received"] == 0 {
		t.Errorf("the Send-indication fallback relayed nothing: %v", udp.Metrics)
	}
	want(t, result(t, rs, "turn.tcp"), checks.Warn, []string{"TCP not offered here"})
	want(t, result(t, rs, "firewall.matrix"), checks.Pass, nil)
}

// TestStunPackageServer: a STUN server on the `stun` package built as its
// documentation shows passes; the same server making the common mistake
// of answering without the request's transaction ID is named as a server
// bug, not as a firewall.
func TestStunPackageServer(t *testing.T) {
	testenv.CheckGoroutines(t)
	good := startNode(t, "stun-server.js", "ok")
	bad := startNode(t, "stun-server.js", "new-tid")
	rs := run{uris: []string{fmt.Sprintf("stun:127.0.0.1:%d", good)}, ids: "stun.udp,nat"}.do(t)
	want(t, result(t, rs, "stun.udp"), checks.Pass, nil)
	want(t, result(t, rs, "nat.behavior"), checks.Skip, []string{"OTHER-ADDRESS"})

	rs = run{uris: []string{fmt.Sprintf("stun:127.0.0.1:%d", bad)}, ids: "stun.udp,firewall,nat"}.do(t)
	r := result(t, rs, "stun.udp")
	want(t, r, checks.Fail, []string{"transaction ID that matches no request", "server bug"}, "firewall", "nothing listens")
	if r.Metrics["stray_answers"] == 0 {
		t.Errorf("stray_answers = %v", r.Metrics["stray_answers"])
	}
	want(t, result(t, rs, "nat.behavior"), checks.Fail, []string{"transaction ID"}, "firewall")
	if fw := result(t, rs, "firewall.matrix"); evidence(fw, fmt.Sprintf("STUN/UDP %d", bad)) != "answered (answered with a transaction ID that matches no request)" {
		t.Errorf("firewall cell: %s", show(fw))
	}
}

// TestSignalingServers: a tutorial-style `ws` signaling server over ws://
// and wss://, the same TLS port named with ws://, and a PeerJS server at
// its real path with the right and a wrong key.
func TestSignalingServers(t *testing.T) {
	testenv.CheckGoroutines(t)
	cert, err := netlab.NewCert(time.Now().Add(90*24*time.Hour), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, caFile, err := cert.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	plain := startNode(t, "ws-signaling.js")
	secure := startNode(t, "ws-signaling.js", certFile, keyFile)
	peer := startNode(t, "peer-server.js")
	peerURL := func(key string) string {
		return fmt.Sprintf("ws://127.0.0.1:%d/myapp/peerjs?key=%s&id=rtcprobe-id&token=t0k3n", peer, key)
	}
	tests := []struct {
		name, url string
		status    checks.Status
		words     []string
		first     string // the first message, as evidence
	}{
		{"ws tutorial server", fmt.Sprintf("ws://127.0.0.1:%d/", plain), checks.Pass, nil, `"{\"type\":\"welcome\"}"`},
		{"wss tutorial server", fmt.Sprintf("wss://127.0.0.1:%d/", secure), checks.Pass, nil, `"{\"type\":\"welcome\"}"`},
		{"ws:// to the TLS port", fmt.Sprintf("ws://127.0.0.1:%d/", secure), checks.Fail, []string{"speaks TLS", "use wss://", fmt.Sprintf("wss://127.0.0.1:%d/", secure)}, ""},
		{"PeerJS, right key", peerURL("peerjs"), checks.Pass, nil, `"{\"type\":\"OPEN\"}"`},
		{"PeerJS, wrong key", peerURL("wrong"), checks.Fail, []string{"closed it at once", "Invalid key provided", "key"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := run{ids: "signaling", ca: caFile, signaling: []string{tc.url}}.do(t)
			r := result(t, rs, "signaling.websocket")
			want(t, r, tc.status, tc.words, "STUN")
			if tc.first != "" && evidence(r, "first_message") != tc.first {
				t.Errorf("first_message = %q, want %q", evidence(r, "first_message"), tc.first)
			}
			t.Logf("%s: %s — %s", tc.name, r.Status, firstSentence(r.Error+" "+r.Advice))
		})
	}
}
