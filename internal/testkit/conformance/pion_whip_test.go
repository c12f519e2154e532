package conformance

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/janus"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// pionWHIPModule is pion's WHIP/WHEP example: one publisher's H.264 and
// Opus forwarded to every viewer, on :8080 (/whip, /whep), no flags.
const pionWHIPModule = "github.com/pion/webrtc/v4/examples/whip-whep"

// buildPionWHIP builds pion's example from the pion/webrtc version go.mod
// pins (the module cache has it: rtcprobe is built on it).
func buildPionWHIP(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "whip-whep")
	if out, err := exec.Command(testenv.LookPath(t, "go"), "build", "-o", bin, pionWHIPModule).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pionWHIPModule, err, out)
	}
	return bin
}

// pionVersion is the pion/webrtc version go.mod pins, which the example
// is built from.
func pionVersion(t *testing.T) string {
	out, err := exec.Command(testenv.LookPath(t, "go"), "list", "-m", "-f", "{{.Version}}", "github.com/pion/webrtc/v4").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/pion/webrtc/v4: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// startPionWHIP runs the example in a namespace of the test's own, which
// gives it its fixed port 8080 and an interface to gather a host
// candidate on (pion leaves loopback out); its STUN server's name does
// not resolve there, and nothing has a route beyond the veth pair. It
// returns the server's address.
func startPionWHIP(t *testing.T) string {
	t.Helper()
	bin := buildPionWHIP(t)
	ns, _, remote := netlab.Peer(t, "pionwhip")
	cmd := ns.Command(context.Background(), bin)
	// It serves its working directory's files on /: an empty one.
	cmd.Dir = t.TempDir()
	netlab.StartProcess(t, cmd, 10*time.Second)
	addr := net.JoinHostPort(remote, "8080")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return remote
		}
		if time.Now().After(deadline) {
			t.Fatalf("pion's whip-whep does not listen on %s: %v", addr, err)
		}
	}
}

// TestWHIPPion publishes to and plays from pion's whip-whep example
// (H.264 and Opus only) through the rtcprobe binary: the offer lists
// only what rtcprobe can send, the answer picks H.264, and the H.264 clip
// flows to the viewer at the clip's frame rate. The example answers the
// trickle PATCH and the DELETE by closing the connection (its handler
// takes every request to /whip as an offer and panics on the fragment),
// so both checks warn naming those steps, not the media.
func TestWHIPPion(t *testing.T) {
	testenv.Heavy(t, "runs pion's whip-whep example and two WebRTC calls through it")
	host := startPionWHIP(t)
	t.Logf("pion/webrtc %s examples/whip-whep on %s:8080", pionVersion(t), host)
	whip, whep := fmt.Sprintf("http://%s:8080/whip", host), fmt.Sprintf("http://%s:8080/whep", host)

	rep := runBinary(t, "--json", "-", "--checks", "whip.publish,whep.play", "--whip", whip, "--whep", whep, "--media-duration", "3s")
	if len(rep.Checks) != 2 {
		t.Fatalf("checks %+v, want whip.publish and whep.play", rep.Checks)
	}
	for _, r := range rep.Checks {
		t.Logf("%s: %s %v (%s) %s", r.ID, r.Status, r.Metrics, r.Error, r.Advice)
		if r.Status != "warn" || r.Metrics["trickle_failed"] != 1 || r.Metrics["delete_failed"] != 1 || !strings.Contains(r.Advice, "DELETE") {
			t.Errorf("%s: %s %q (%s), want a warn for the trickle PATCH and DELETE the example does not answer", r.ID, r.Status, r.Error, r.Advice)
		}
		if got := r.evidence("codecs"); got != "audio opus; video H264" {
			t.Errorf("%s: codecs evidence %q, want audio opus; video H264", r.ID, got)
		}
		proto := strings.ToUpper(strings.SplitN(r.ID, ".", 2)[0])
		post := r.observation(proto + " POST offer")
		if post == nil || post.Outcome != "answered" || !strings.Contains(post.Note, "video H264") {
			t.Errorf("%s: POST observation %+v, want answered with H264 negotiated", r.ID, post)
		}
		if closed := r.observation(proto + " DELETE"); closed == nil || closed.Outcome != "closed" {
			t.Errorf("%s: DELETE observation %+v, want closed", r.ID, closed)
		}
		if strings.Contains(r.Advice, "breaks the protocol") {
			t.Errorf("%s: advice %q blames the answer", r.ID, r.Advice)
		}
	}
	pub, play := rep.Checks[0], rep.Checks[1]
	if pub.Metrics["packets_sent"] < 150 || pub.Metrics["rtcp_loss_pct"] > 1 {
		t.Errorf("whip.publish: packets_sent %v rtcp_loss_pct %v", pub.Metrics["packets_sent"], pub.Metrics["rtcp_loss_pct"])
	}
	if play.Metrics["fps"] < 25 || play.Metrics["loss_pct"] > 1 {
		t.Errorf("whep.play: fps %v loss_pct %v: the H.264 clip runs at 30 fps", play.Metrics["fps"], play.Metrics["loss_pct"])
	}
}

// TestWHIPCodecMismatch publishes to a Janus VideoRoom whose room takes
// H.265 video only, a codec rtcprobe has no clip of: the server answers
// 201, and the result names the video section the codecs did not meet,
// from the answer, not a protocol fault or the network.
func TestWHIPCodecMismatch(t *testing.T) {
	testenv.Heavy(t, "runs Janus and simple-whip-server")
	j := janus.StartJanus(t, janus.JanusConfig{VideoCodec: "h265"})
	ep := j.Endpoint(t, "h265", "")
	rep := runBinary(t, "--json", "-", "--checks", "whip.publish", "--whip", ep.String(), "--media-duration", "1s")
	r := rep.Checks[0]
	t.Logf("whip.publish: %s %q %s %+v", r.Status, r.Error, r.Advice, r.Observations)
	if r.Status != "fail" || !strings.Contains(r.Error, "video") || !strings.Contains(r.Advice, "H264") || !strings.Contains(r.Advice, "Cannot tell") {
		t.Errorf("status %s error %q advice %q, want a fail naming the video codecs offered", r.Status, r.Error, r.Advice)
	}
	for _, bad := range []string{"breaks the protocol", "firewall", "NAT"} {
		if strings.Contains(r.Advice, bad) {
			t.Errorf("advice %q names %q", r.Advice, bad)
		}
	}
	if o := r.observation("WHIP POST offer"); o == nil || o.Outcome != "answered" || o.Code != 201 {
		t.Errorf("POST observation %+v, want answered 201", o)
	}
}
