package conformance

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// ejabberdLibs is where Debian's ejabberd keeps its Erlang applications
// (ejabberdctl sets the same ERL_LIBS).
const ejabberdLibs = "/usr/lib/x86_64-linux-gnu"

// TestEjabberdSTUN points rtcprobe at ejabberd's STUN/TURN listener
// (ejabberd_stun, built on p1_stun) with long-term credentials, over UDP
// and TCP. The relay address is 127.0.0.2, so a turn_blacklist naming it
// denies the peer (each allocation's peer is the other's relayed address)
// while the client on 127.0.0.1 may still allocate.
func TestEjabberdSTUN(t *testing.T) {
	testenv.CheckGoroutines(t)
	erl := testenv.LookPath(t, "erl")
	if _, err := os.Stat(filepath.Join(ejabberdLibs, "ejabberd-23.01")); err != nil {
		if matches, _ := filepath.Glob(filepath.Join(ejabberdLibs, "ejabberd-*")); len(matches) == 0 {
			testenv.Unavailable(t, "ejabberd not installed (Debian package ejabberd)")
		}
	}
	ok := verdict{status: checks.Pass}
	tests := []struct {
		name      string
		blacklist string
		password  string
		verdicts  map[string]verdict
	}{
		{name: "TCP and UDP", blacklist: "[]", password: "s3cret", verdicts: map[string]verdict{
			"stun.udp": ok, "stun.tcp": ok, "turn.udp": ok, "turn.tcp": ok}},
		{name: "wrong password", blacklist: "[]", password: "wrong", verdicts: map[string]verdict{
			"turn.udp": {checks.Fail, []string{"401", "Cannot tell from here", "password is wrong", `user is unknown for realm "rtcprobe.test"`}, []string{"firewall"}, false},
			"turn.tcp": {checks.Fail, []string{"401", "password is wrong"}, []string{"firewall"}, false}}},
		{name: "turn_blacklist covers the peer", blacklist: `["127.0.0.2"]`, password: "s3cret", verdicts: map[string]verdict{
			"turn.udp": {checks.Fail, []string{"403", "CreatePermission", "policy denies relaying to that address", "turn_blacklist"}, nil, false},
			"turn.tcp": {checks.Fail, []string{"403", "CreatePermission", "turn_blacklist"}, nil, false}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			port := startEjabberd(t, erl, tc.blacklist)
			hostport := "127.0.0.1:" + strconv.Itoa(port)
			var ids []string
			for id := range tc.verdicts {
				ids = append(ids, id)
			}
			rs := run{uris: []string{"stun:" + hostport, "turn:" + hostport, "turn:" + hostport + "?transport=tcp"},
				user: "alice", password: tc.password, ids: strings.Join(ids, ",")}.do(t)
			for id, v := range tc.verdicts {
				for _, r := range rs {
					if r.CheckID == id {
						want(t, r, v.status, v.words, v.not...)
					}
				}
				result(t, rs, id)
			}
		})
	}
}

// startEjabberd runs ejabberd 23.01 straight from erl, without
// ejabberdctl (which wants the ejabberd user, epmd and /var): a config,
// Mnesia spool, log and HOME in a temp dir, no Erlang distribution, one
// user registered once it has started. It returns the STUN port.
func startEjabberd(t *testing.T, erl, blacklist string) int {
	t.Helper()
	dir := t.TempDir()
	port := coturn.FreePort(t)
	var listen strings.Builder
	for _, transport := range []string{"udp", "tcp"} {
		fmt.Fprintf(&listen, `  -
    port: %d
    ip: "127.0.0.1"
    transport: %s
    module: ejabberd_stun
    use_turn: true
    turn_ipv4_address: "127.0.0.2"
    turn_blacklist: %s
    auth_type: user
    auth_realm: rtcprobe.test
`, port, transport, blacklist)
	}
	cfg := "hosts:\n  - rtcprobe.test\nloglevel: info\ncertfiles: []\nauth_method: internal\nmodules: {}\nlisten:\n" + listen.String()
	if err := os.WriteFile(filepath.Join(dir, "ejabberd.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	spool := filepath.Join(dir, "spool")
	if err := os.Mkdir(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	// Erlang's schedulers spin while idle; beside other busy processes
	// that spinning starved ejabberd's own start (15-30 s instead of 3 s).
	cmd := exec.Command(erl, "-noinput", "+sbwt", "none", "+sbwtdcpu", "none", "+sbwtdio", "none", "-mnesia", "dir", strconv.Quote(spool), "-s", "ejabberd",
		"-eval", `R = ejabberd_auth:try_register(<<"alice">>, <<"rtcprobe.test">>, <<"s3cret">>), io:format("rtcprobe-ready ~p~n", [R])`)
	cmd.Dir = dir
	cmd.Env = netlab.Env("ERL_LIBS="+ejabberdLibs, "HOME="+dir,
		"EJABBERD_CONFIG_PATH="+filepath.Join(dir, "ejabberd.yml"), "EJABBERD_LOG_PATH="+filepath.Join(dir, "ejabberd.log"),
		"ERL_CRASH_DUMP="+filepath.Join(dir, "erl_crash.dump"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	log := &netlab.SyncBuffer{}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(log, line)
			if strings.HasPrefix(line, "rtcprobe-ready") {
				ready <- line
				break
			}
		}
		_, _ = io.Copy(log, stdout)
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("ejabberd output:\n%s", log.String())
		}
	})
	select {
	case line := <-ready:
		if line != "rtcprobe-ready ok" {
			t.Fatalf("ejabberd started, but registering the user said %q", line)
		}
	case <-exited:
		t.Fatalf("ejabberd exited:\n%s", log.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("ejabberd not ready after 30s:\n%s", log.String())
	}
	// The listeners start after the application reports itself started.
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			_ = c.Close()
			if err = bindingAnswered(addr, false); err == nil {
				return port
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("ejabberd not listening on %s after 10s: %v\n%s", addr, err, log.String())
		}
	}
}
