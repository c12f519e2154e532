package netlab

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// StartTinyproxy runs Debian's tinyproxy on 127.0.0.1 with its own
// config and returns its URL. connectPorts limits the ports it tunnels to
// with CONNECT (none: every port), so a proxy that refuses CONNECT is a
// real one too. The proxy is killed when the test ends.
func StartTinyproxy(t testing.TB, connectPorts ...int) *url.URL {
	t.Helper()
	// tinyproxy takes a fixed port: reserve one, then hand it over.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return startTinyproxy(t, nil, "127.0.0.1", port, "127.0.0.1", connectPorts)
}

// StartTinyproxy runs tinyproxy inside the namespace on listen:port,
// serving clients from allow (an address or CIDR).
func (ns *NS) StartTinyproxy(t testing.TB, listen string, port int, allow string) *url.URL {
	t.Helper()
	return startTinyproxy(t, ns, listen, port, allow, nil)
}

func startTinyproxy(t testing.TB, ns *NS, listen string, port int, allow string, connectPorts []int) *url.URL {
	t.Helper()
	bin := testenv.LookPath(t, "tinyproxy")
	conf := fmt.Sprintf("Port %d\nListen %s\nTimeout 10\nAllow %s\nMaxClients 20\n", port, listen, allow)
	if os.Geteuid() == 0 {
		conf += "User nobody\nGroup nogroup\n"
	}
	for _, p := range connectPorts {
		conf += fmt.Sprintf("ConnectPort %d\n", p)
	}
	path := filepath.Join(t.TempDir(), "tinyproxy.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-d", "-c", path)
	if ns != nil {
		cmd = ns.Command(context.Background(), bin, "-d", "-c", path)
	}
	cmd.SysProcAttr = diesWithTest()
	out, err := cmd.StdoutPipe() // tinyproxy -d logs to stdout
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start tinyproxy: %v", err)
	}
	exited := make(chan struct{})
	ready := make(chan struct{})
	var log strings.Builder // written only before ready closes or the process exits
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			if !signalled {
				log.WriteString(sc.Text() + "\n")
				if strings.Contains(sc.Text(), "listening on fd") {
					signalled = true
					close(ready)
				}
			}
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	select {
	case <-ready:
	case <-exited:
		t.Fatalf("tinyproxy exited:\n%s", log.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("tinyproxy not listening after 10s")
	}
	return &url.URL{Scheme: "http", Host: net.JoinHostPort(listen, fmt.Sprint(port))}
}
