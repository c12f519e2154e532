// Package pgtest starts a throw-away PostgreSQL cluster for a test: Debian's
// postgresql binaries, initdb in a temporary directory as an unprivileged
// user, the server on a free loopback port and a Unix socket, stopped and
// removed when the test ends (and killed with the test binary).
package pgtest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/netlab"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// binDirs are where Debian puts the server binaries, newest first.
var binDirs = []string{"/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"}

// Cluster is a running throw-away PostgreSQL.
type Cluster struct {
	// Dir holds the data directory and the Unix socket.
	Dir  string
	Port int
	// PID is the postmaster's.
	PID int

	bin    string
	cred   *syscall.SysProcAttr
	proc   *os.Process
	exited chan struct{}
}

// DSN reaches the cluster over TCP on 127.0.0.1.
func (c *Cluster) DSN() string {
	return fmt.Sprintf("postgres://rtcprobe@127.0.0.1:%d/postgres?sslmode=disable", c.Port)
}

// SocketDSN reaches the cluster over its Unix socket, which works from
// any network namespace.
func (c *Cluster) SocketDSN() string {
	return fmt.Sprintf("postgres://rtcprobe@/postgres?host=%s&port=%d&sslmode=disable", c.Dir, c.Port)
}

// Start initialises and starts a cluster, or skips (fails in CI) when
// PostgreSQL is not installed or the test is not root (the server must
// run as another user).
func Start(t testing.TB) *Cluster {
	t.Helper()
	bin := ""
	for _, d := range binDirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			bin = d
			break
		}
	}
	if bin == "" {
		testenv.Unavailable(t, "PostgreSQL server binaries not found in %s (install the Debian package postgresql, or run `make test`)", strings.Join(binDirs, ", "))
	}
	testenv.RequireRoot(t)
	uid, gid := serverUser(t)
	dir, err := os.MkdirTemp("", "rtcprobe-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	cred := asUser(uid, gid)
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "rtcprobe", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	initdb.SysProcAttr, initdb.Dir, initdb.Env = cred, dir, []string{"LANG=C", "HOME=" + dir}
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	c := &Cluster{Dir: dir, Port: freePort(t), bin: bin, cred: cred}
	t.Cleanup(c.stop)
	c.start(t)
	return c
}

// Stop shuts the server down (a fast shutdown); Restart starts it again
// on the same data and port: the database goes away and comes back.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	c.stop()
}

// Restart starts a stopped cluster again.
func (c *Cluster) Restart(t testing.TB) {
	t.Helper()
	c.start(t)
}

func (c *Cluster) start(t testing.TB) {
	t.Helper()
	srv := exec.Command(filepath.Join(c.bin, "postgres"), "-D", filepath.Join(c.Dir, "data"), "-p", strconv.Itoa(c.Port), "-k", c.Dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200", "-c", "shared_buffers=16MB")
	srv.SysProcAttr, srv.Dir, srv.Env = c.cred, c.Dir, []string{"LANG=C", "HOME=" + c.Dir}
	stderr, err := srv.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("postgres: %v", err)
	}
	c.PID = srv.Process.Pid
	exited := make(chan struct{})
	log := &netlab.SyncBuffer{}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		seen := false
		for sc.Scan() {
			fmt.Fprintln(log, sc.Text())
			if !seen && strings.Contains(sc.Text(), "ready to accept connections") {
				seen = true
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		_ = srv.Wait()
		close(exited)
	}()
	c.proc, c.exited = srv.Process, exited
	select {
	case <-ready:
	case <-exited:
		t.Fatalf("postgres exited at start:\n%s", log.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("postgres not ready after 30 s:\n%s", log.String())
	}
}

// stop ends the server if it runs: a fast shutdown, so sessions are
// ended and the data stays consistent.
func (c *Cluster) stop() {
	if c.proc == nil {
		return
	}
	_ = c.proc.Signal(syscall.SIGINT)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		_ = c.proc.Kill()
		<-c.exited
	}
	c.proc = nil
}

// serverUser is the unprivileged user the server runs as: Debian's
// postgres user, else nobody.
func serverUser(t testing.TB) (uid, gid int) {
	t.Helper()
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		return uid, gid
	}
	t.Fatal("no unprivileged user (postgres or nobody) to run PostgreSQL as")
	return 0, 0
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
