// Package janus runs third-party WebRTC media servers for tests:
// Janus (Debian package janus) with meetecho's simple-whip-server in front
// of it as the WHIP endpoint. simple-whip-server comes from its Debian
// package (extracted by `make media-deps`, since it depends on Debian's
// nodejs, which conflicts with the Node installed here) and runs on the
// Node packages locked in node/. Without them the test skips, or fails in
// CI.
package janus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// Janus is a running Janus with simple-whip-server in front of it, in a
// network namespace of the test's own reachable over a veth pair.
type Janus struct {
	// Base is simple-whip-server's REST base: http://10.N.0.2:PORT/whip.
	Base *url.URL
	// Host is the namespace's address.
	Host string
	ns   *netlab.NS
}

// JanusConfig adjusts the server.
type JanusConfig struct {
	// NoTrickle makes simple-whip-server answer PATCH with 405.
	NoTrickle bool
	// ICEServers are announced in Link headers: {"uri": …, "username": …,
	// "credential": …}.
	ICEServers []map[string]string
	// VideoCodec is the room's video codec as Janus names it ("vp8" when
	// empty; "h265" makes a room whose video rtcprobe cannot send).
	VideoCodec string
}

// nodeDir is where `make media-deps` installs simple-whip-server and its
// Node packages.
func nodeDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "node")
}

const (
	// JanusWSPort is where Janus's WebSocket API listens (subprotocol
	// janus-protocol).
	JanusWSPort = 8188
	whipPort    = 7080
)

// StartJanus starts Janus and simple-whip-server in a fresh namespace and
// waits until the WHIP REST API answers.
func StartJanus(t testing.TB, cfg JanusConfig) *Janus {
	t.Helper()
	janus := testenv.LookPath(t, "janus")
	node := testenv.LookPath(t, "node")
	dir := nodeDir()
	src := filepath.Join(dir, "simple-whip-server", "src")
	for _, f := range []string{filepath.Join(dir, "node_modules", ".package-lock.json"), filepath.Join(src, "server.js")} {
		if _, err := os.Stat(f); err != nil {
			testenv.Unavailable(t, "simple-whip-server is not installed: run `make media-deps` (%v)", err)
		}
	}
	ns, local, remote := netlab.Peer(t, "janus")
	// Janus takes its local IP from the route to the outside world and
	// gathers ICE candidates on that interface only: without a default
	// route it finds none ("Couldn't find any address") and the offer
	// fails ("Error setting ICE locally"). The route leads to the test's
	// own isolated namespace, no further.
	ns.Run(t, "ip", "route", "add", "default", "via", local)
	waitLinkUp(t, ns)
	work := t.TempDir()
	writeJanusConfig(t, work, cfg.VideoCodec)
	jcmd := ns.Command(context.Background(), janus, "-F", work, "-C", filepath.Join(work, "janus.jcfg"), "-o", "-d", "3")
	netlab.StartProcess(t, jcmd, 15*time.Second)
	waitTCP(t, net.JoinHostPort(remote, strconv.Itoa(JanusWSPort)))

	// simple-whip-server reads ./config.js beside its sources.
	app := t.TempDir()
	for _, f := range []string{"server.js", "whip-janus.js"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(app, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	servers, _ := json.Marshal(cfg.ICEServers)
	if cfg.ICEServers == nil {
		servers = []byte("[]")
	}
	conf := fmt.Sprintf("module.exports = {janus: {address: 'ws://127.0.0.1:%d'}, port: %d, rest: '/whip', allowTrickle: %t, strictETags: true, iceServers: %s};\n",
		JanusWSPort, whipPort, !cfg.NoTrickle, servers)
	if err := os.WriteFile(filepath.Join(app, "config.js"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	wcmd := ns.Command(context.Background(), node, "server.js")
	wcmd.Dir = app
	wcmd.Env = netlab.Env("NODE_PATH="+filepath.Join(dir, "node_modules"), "DEBUG=")
	netlab.StartProcess(t, wcmd, 15*time.Second)
	j := &Janus{Base: &url.URL{Scheme: "http", Host: net.JoinHostPort(remote, strconv.Itoa(whipPort)), Path: "/whip"}, Host: remote, ns: ns}
	j.waitHealthy(t)
	return j
}

// waitTCP polls until addr accepts a connection, or fails after 15 s.
func waitTCP(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not accepting after 15s: %v", addr, err)
		}
		<-tick.C
	}
}

// waitHealthy polls the WHIP API's health check: it is served only once
// simple-whip-server has connected to Janus.
func (j *Janus) waitHealthy(t testing.TB) {
	t.Helper()
	u := j.Base.JoinPath("healthcheck").String()
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := (&http.Client{Timeout: time.Second}).Get(u)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("simple-whip-server not healthy after 15s: %v", err)
		}
		<-tick.C
	}
}

// Endpoint creates a WHIP endpoint publishing into the Janus VideoRoom
// room 1234 (token: the bearer token it wants, "" for none) and returns
// its URL.
func (j *Janus) Endpoint(t testing.TB, id, token string) *url.URL {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"id": id, "room": 1234, "token": token})
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Post(j.Base.JoinPath("create").String(), "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("creating WHIP endpoint %s: %s", id, resp.Status)
	}
	return j.Base.JoinPath("endpoint", id)
}

// writeJanusConfig writes a Janus configuration with only the VideoRoom
// plugin and the WebSockets transport, a room for Opus and the video
// codec (VP8 by default), and media ports of its own.
func writeJanusConfig(t testing.TB, dir, videoCodec string) {
	t.Helper()
	if videoCodec == "" {
		videoCodec = "vp8"
	}
	lib := "/usr/lib/x86_64-linux-gnu/janus"
	if m, _ := filepath.Glob("/usr/lib/*/janus/plugins"); len(m) > 0 {
		lib = filepath.Dir(m[0])
	}
	files := map[string]string{
		"janus.jcfg": fmt.Sprintf(`general: {
	configs_folder = "%[1]s"
	plugins_folder = "%[2]s/plugins"
	transports_folder = "%[2]s/transports"
	events_folder = "%[2]s/events"
	loggers_folder = "%[2]s/loggers"
	debug_level = 3
	admin_secret = "%[3]s"
}
media: {
	rtp_port_range = "40000-40999"
}
nat: {
	ice_ignore_list = "vmnet"
}
plugins: {
	disable = "libjanus_audiobridge.so,libjanus_duktape.so,libjanus_echotest.so,libjanus_lua.so,libjanus_nosip.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_streaming.so,libjanus_textroom.so,libjanus_videocall.so,libjanus_voicemail.so"
}
transports: {
	disable = "libjanus_http.so,libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so,libjanus_rabbitmq.so"
}
events: {
	broadcast = false
}
loggers: {
	disable = "libjanus_jsonlog.so"
}
`, dir, lib, netlab.Suffix()),
		"janus.transport.websockets.jcfg": fmt.Sprintf(`general: {
	json = "compact"
	ws = true
	ws_port = %d
	wss = false
}
admin: {
	admin_ws = false
	admin_wss = false
}
`, JanusWSPort),
		"janus.plugin.videoroom.jcfg": fmt.Sprintf(`general: {
}
room-1234: {
	description = "rtcprobe"
	publishers = 6
	bitrate = 2000000
	audiocodec = "opus"
	videocodec = "%s"
}
`, videoCodec),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// waitLinkUp waits until eth0 in ns is operationally up (carrier seen)
// and no address is tentative any more, at most 5 s: Janus's ICE agent
// gathers only on interfaces that are running, with addresses it can bind.
func waitLinkUp(t testing.TB, ns *netlab.NS) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		link, err := ns.Command(context.Background(), "ip", "link", "show", "eth0").Output()
		tentative, err2 := ns.Command(context.Background(), "ip", "addr", "show", "tentative").Output()
		if err == nil && err2 == nil && bytes.Contains(link, []byte("state UP")) && len(bytes.TrimSpace(tentative)) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("eth0 not up after 5 s (%v, %v): %s %s", err, err2, link, tentative)
		}
	}
}
