package main

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/iceserver"
)

// Package initialisation runs in every process, for every package linked
// in, whatever the command (which is why serve is a program of its own,
// rtcprobe-serve). Its cost is counted in bytes allocated, which do not
// move with the machine's load as times do. The first release allocated
// 1.0 MB at init, 64 KiB of it in rtcprobe's own packages.
const (
	// initBudget bounds the bytes all packages allocate at init: 0.95 MiB
	// now, 0.6 MiB of it tablewriter's width tables (1.25 MiB with the
	// server's libraries linked in, as before the split).
	initBudget = 1152 << 10
	// ownInitBudget bounds rtcprobe's own packages: 42 KiB now.
	// Templates and patterns are compiled on first use, not here.
	ownInitBudget = 48 << 10
)

// heavyInit are packages whose init does a run's worth of work, kept out
// of the binary: why, for each.
var heavyInit = map[string]string{
	"github.com/santhosh-tekuri/jsonschema/v6": "compiles every JSON Schema draft's meta-schemas (1.7 MB, 6 ms); internal/schemacheck validates the posted results",
}

// TestStartupInitBudget runs the binary's cheapest command with the
// runtime's init trace and holds package initialisation to its budgets:
// the bytes every package allocates, those of rtcprobe's own, no package
// that does heavy work at init, and no garbage collection before exit.
func TestStartupInitBudget(t *testing.T) {
	cmd := exec.Command(binary, "--version")
	// Appended values win over the inherited ones.
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1,gctrace=1", "GOGC=100", "GOMEMLIMIT=off")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var total, own int64
	var owners []string
	inits := 0
	sc := bufio.NewScanner(strings.NewReader(stderr.String()))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "gc ") {
			t.Errorf("a garbage collection ran before --version exited (the heap passed 4 MB at init): %s", line)
			continue
		}
		pkg, bytes, ok := initLine(line)
		if !ok {
			continue
		}
		inits++
		total += bytes
		if why, heavy := heavyInit[pkg]; heavy {
			t.Errorf("%s is linked: its init %s", pkg, why)
		}
		if pkg == "main" || strings.HasPrefix(pkg, "github.com/rtcprobe/rtcprobe/") {
			own += bytes
			owners = append(owners, pkg+" "+strconv.FormatInt(bytes, 10))
		}
	}
	if inits < 50 {
		t.Fatalf("%d init lines read: the trace's format changed?\n%s", inits, stderr.String())
	}
	t.Logf("init: %d packages, %d bytes, %d in rtcprobe's own (%s)", inits, total, own, strings.Join(owners, ", "))
	if total > initBudget {
		t.Errorf("package init allocates %d bytes, over the budget of %d: sort GODEBUG=inittrace=1 rtcprobe --version 2>&1 by its 8th field to see which", total, initBudget)
	}
	if own > ownInitBudget {
		t.Errorf("rtcprobe's own packages allocate %d bytes at init, over the budget of %d: %s", own, ownInitBudget, strings.Join(owners, ", "))
	}
}

// initLine reads a line of the runtime's init trace:
// "init PKG @0.5 ms, 0.01 ms clock, 1234 bytes, 5 allocs".
func initLine(line string) (pkg string, bytes int64, ok bool) {
	f := strings.Fields(line)
	if len(f) != 11 || f[0] != "init" || f[8] != "bytes," {
		return "", 0, false
	}
	n, err := strconv.ParseInt(f[7], 10, 64)
	return f[1], n, err == nil
}

// BenchmarkStartupVersion is the start-up of a whole process: the built
// binary run with --version; cpu-ms/op is its user + system time.
func BenchmarkStartupVersion(b *testing.B) {
	benchProcess(b, "--version")
}

// BenchmarkStartupSTUN is one STUN check as a whole process, against the
// embedded server run by the benchmark: start-up, 5 requests, the table.
func BenchmarkStartupSTUN(b *testing.B) {
	srv, err := iceserver.Start(iceserver.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	benchProcess(b, "--checks", "stun.udp", "stun:"+srv.Servers()[0].Addr())
}

func benchProcess(b *testing.B, args ...string) {
	var cpu time.Duration
	for b.Loop() {
		cmd := exec.Command(binary, args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
		cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(b.N), "cpu-ms/op")
}
