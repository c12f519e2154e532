package probes

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// HostLoad is how busy this machine's CPUs were while a check ran. On a
// saturated machine, round trips, set-up times and frame rates measured
// here are partly this machine's own delays: a verdict on them must not
// blame the network or the browser.
type HostLoad struct {
	// WaitPct is the share of the interval in which at least one runnable
	// task waited for a CPU: Linux pressure stall information
	// (/proc/pressure/cpu, "some"), this process's own threads included.
	WaitPct float64
	// StealPct is the share of CPU time a hypervisor gave to other guests
	// (/proc/stat, steal).
	StealPct float64
	Took     time.Duration
	// Known is false where the kernel does not say (no PSI).
	Known bool
	// UDPDrops is how many UDP datagrams this machine's kernel dropped
	// meanwhile for a full socket receive buffer, any socket's in this
	// network namespace (a check's own, the browser's, a local server's);
	// DropsKnown is false where the kernel does not say.
	UDPDrops   uint64
	DropsKnown bool
}

func (h HostLoad) String() string {
	return fmt.Sprintf("a runnable task waited for a CPU %.0f %% of the check's %s; hypervisor steal %.0f %%",
		h.WaitPct, h.Took.Round(100*time.Millisecond), h.StealPct)
}

// HostLoadMeter measures HostLoad from Start to Stop.
type HostLoadMeter struct {
	start        time.Time
	waitUS       uint64
	steal, total uint64
	ok           bool
	drops        uint64
	dropsOK      bool
}

// StartHostLoad starts measuring this machine's CPU load.
func StartHostLoad() HostLoadMeter {
	m := HostLoadMeter{start: time.Now()}
	var okWait, okStat bool
	m.waitUS, okWait = cpuWaitMicros()
	m.steal, m.total, okStat = cpuStealJiffies()
	m.ok = okWait && okStat
	m.drops, m.dropsOK = udpRcvbufDrops()
	return m
}

// Stop gives the load since Start.
func (m HostLoadMeter) Stop() HostLoad {
	h := HostLoad{Took: time.Since(m.start)}
	if drops, ok := udpRcvbufDrops(); ok && m.dropsOK && drops >= m.drops {
		h.UDPDrops, h.DropsKnown = drops-m.drops, true
	}
	wait, okWait := cpuWaitMicros()
	steal, total, okStat := cpuStealJiffies()
	if !m.ok || !okWait || !okStat || h.Took <= 0 || wait < m.waitUS {
		return h
	}
	h.Known = true
	h.WaitPct = min(100, float64(wait-m.waitUS)/float64(h.Took.Microseconds())*100)
	if total > m.total && steal >= m.steal {
		h.StealPct = float64(steal-m.steal) / float64(total-m.total) * 100
	}
	return h
}

// readProc reads a small /proc file, bounded.
func readProc(path string) ([]byte, bool) { return readProcLimit(path, 4096) }

func readProcLimit(path string, limit int64) ([]byte, bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit))
	return b, err == nil
}

// cpuWaitMicros is the "some" total of /proc/pressure/cpu: microseconds
// in which at least one runnable task waited for a CPU.
func cpuWaitMicros() (uint64, bool) {
	b, ok := readProc("/proc/pressure/cpu")
	if !ok {
		return 0, false
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	_, total, found := bytes.Cut(line, []byte("total="))
	if !bytes.HasPrefix(line, []byte("some ")) || !found {
		return 0, false
	}
	v, err := strconv.ParseUint(string(bytes.TrimSpace(total)), 10, 64)
	return v, err == nil
}

// cpuStealJiffies reads the aggregate "cpu" line of /proc/stat: steal and
// the sum of all fields.
func cpuStealJiffies() (steal, total uint64, ok bool) {
	b, ok := readProc("/proc/stat")
	if !ok {
		return 0, 0, false
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	fields := bytes.Fields(line)
	if len(fields) < 9 || string(fields[0]) != "cpu" {
		return 0, 0, false
	}
	// user nice system idle iowait irq softirq steal [guest guest_nice]:
	// guest time is already counted in user and nice.
	for i, f := range fields[1:min(len(fields), 9)] {
		v, err := strconv.ParseUint(string(f), 10, 64)
		if err != nil {
			return 0, 0, false
		}
		total += v
		if i == 7 {
			steal = v
		}
	}
	return steal, total, true
}
