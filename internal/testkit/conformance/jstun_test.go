package conformance

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
	"github.com/rtcprobe/rtcprobe/probes"
)

// jstunJar is Debian's libjstun-java.
const jstunJar = "/usr/share/java/libjstun-java.jar"

// TestJSTUNClassicServer points rtcprobe at jstun's STUN server, an RFC
// 3489 server that answers only Binding requests carrying CHANGE-REQUEST
// and drops the rest without a word. Silence to rtcprobe's RFC 8489
// requests must not read as a firewall: the follow-up with CHANGE-REQUEST
// is answered, and stun.udp and nat.behavior both say what the server is.
func TestJSTUNClassicServer(t *testing.T) {
	java := testenv.LookPath(t, "java")
	if _, err := os.Stat(jstunJar); err != nil {
		testenv.Unavailable(t, "%s missing (Debian package libjstun-java)", jstunJar)
	}
	addr := startJSTUN(t, java)

	// The premise, shown without rtcprobe: a Binding request without
	// CHANGE-REQUEST gets nothing, one with it an answer.
	// On a busy machine the JVM's port is now and then not yet (or no
	// longer, for a moment) its own: the premise must hold again and again
	// within a few seconds, not on the first try.
	var premise error
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if err := bindingAnswered(addr, false); err == nil {
			t.Fatalf("jstun answered a Binding request without CHANGE-REQUEST: the premise of this test is gone")
		}
		if premise = bindingAnswered(addr, true); premise == nil {
			break
		}
	}
	if premise != nil {
		t.Fatalf("jstun did not answer a Binding request with CHANGE-REQUEST: %v", premise)
	}

	rs := run{uris: []string{"stun:" + addr}, ids: "stun.udp,nat.behavior"}.do(t)
	words := []string{"speaks only RFC 3489", "answers only Binding requests with CHANGE-REQUEST", "no firewall drops it", "RFC 5389/8489"}
	wrong := []string{"cannot tell", "drops UDP to port"}
	for _, id := range []string{"stun.udp", "nat.behavior"} {
		r := result(t, rs, id)
		want(t, r, checks.Fail, words, wrong...)
		if r.Diagnosis == nil || r.Diagnosis.Rule != "stun-rfc3489-only" {
			t.Errorf("%s: diagnosis %+v\n%s", id, r.Diagnosis, show(r))
		}
		var follow *probes.Observation
		for i, o := range r.Observations {
			if o.Step == probes.StepClassicBinding {
				follow = &r.Observations[i]
			}
		}
		if follow == nil || follow.Outcome != probes.OutcomeAnswered || follow.AfterMS > float64(probes.ClassicBindingWait/time.Millisecond) {
			t.Errorf("%s: follow-up %+v\n%s", id, follow, show(r))
		} else {
			t.Logf("%s: follow-up %s after %.1f ms: %s", id, follow.Outcome, follow.AfterMS, follow.Note)
		}
	}
}

// startJSTUN runs jstun's StunServer on 127.0.0.1 and 127.0.0.2 (two
// ports each, as RFC 3489 wants) and returns its primary address once it
// answers.
func startJSTUN(t *testing.T, java string) string {
	t.Helper()
	p1, p2 := coturn.FreePort(t), coturn.FreePort(t)
	cmd := exec.Command(java, "-cp", jstunJar, "de.javawi.jstun.test.demo.StunServer",
		strconv.Itoa(p1), "127.0.0.1", strconv.Itoa(p2), "127.0.0.2")
	cmd.Dir = t.TempDir() // it writes logging_server.txt where it runs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out := &netlab.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("jstun output:\n%s", out.String())
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p1))
	deadline := time.Now().Add(20 * time.Second)
	for bindingAnswered(addr, true) != nil {
		select {
		case <-exited:
			t.Fatalf("jstun exited:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("jstun not answering on %s after 20s:\n%s", addr, out.String())
		}
	}
	return addr
}

// bindingAnswered sends one Binding request, with a CHANGE-REQUEST asking
// no change when classic, and waits 300 ms for its answer.
func bindingAnswered(addr string, classic bool) error {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	setters := []stun.Setter{stun.TransactionID, stun.BindingRequest}
	if classic {
		setters = append(setters, stun.RawAttribute{Type: stun.AttrChangeRequest, Value: []byte{0, 0, 0, 0}})
	}
	req := stun.MustBuild(setters...)
	if _, err := c.Write(req.Raw); err != nil {
		return err
	}
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 1500)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return err
		}
		m := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if m.Decode() == nil && m.TransactionID == req.TransactionID {
			return nil
		}
	}
}
