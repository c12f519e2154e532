package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/rtcprobe/rtcprobe/internal/testkit/coturn"
	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// loadResult is what one load loop measured.
type loadResult struct {
	probes, failures int
	took             time.Duration
	// cpu is the CPU time the exporter's process used meanwhile.
	cpu time.Duration
	// overheads are, per probe, the client's latency minus the time the
	// check itself took (probe_check_duration_seconds): what the
	// exporter adds to the network work.
	overheads []time.Duration
}

func (r loadResult) rate() float64 { return float64(r.probes) / r.took.Seconds() }

var checkDuration = regexp.MustCompile(`(?m)^probe_check_duration_seconds\{[^}]*\} (\S+)$`)

// drive is the one load loop every exporter gets: workers clients, each
// with its own keep-alive connection, fetching url back to back for dur.
// A probe counts when the answer is 200 with probe_success 1.
func drive(url string, workers int, dur time.Duration) loadResult {
	var (
		mu  sync.Mutex
		out loadResult
		wg  sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(dur)
	for range workers {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}, Timeout: 10 * time.Second}
			defer client.CloseIdleConnections()
			var ok, bad int
			var overheads []time.Duration
			for time.Now().Before(end) {
				t0 := time.Now()
				resp, err := client.Get(url)
				if err != nil {
					bad++
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				latency := time.Since(t0)
				if resp.StatusCode != 200 || !strings.Contains(string(body), "\nprobe_success 1\n") {
					bad++
					continue
				}
				ok++
				if m := checkDuration.FindSubmatch(body); m != nil {
					secs, _ := strconv.ParseFloat(string(m[1]), 64)
					overheads = append(overheads, latency-time.Duration(secs*float64(time.Second)))
				}
			}
			mu.Lock()
			out.probes += ok
			out.failures += bad
			out.overheads = append(out.overheads, overheads...)
			mu.Unlock()
		})
	}
	wg.Wait()
	out.took = time.Since(start)
	return out
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// startBlackbox runs Debian's blackbox_exporter with a tcp_connect module
// on a free port.
func startBlackbox(b testing.TB) (string, *os.Process) {
	bin := testenv.LookPath(b, "prometheus-blackbox-exporter")
	dir := b.TempDir()
	cfg := filepath.Join(dir, "blackbox.yml")
	if err := os.WriteFile(cfg, []byte("modules:\n  tcp_connect:\n    prober: tcp\n    timeout: 5s\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", coturn.FreePort(b))
	cmd := exec.Command(bin, "--config.file="+cfg, "--web.listen-address="+addr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitHTTP(b, "http://"+addr+"/-/healthy")
	return addr, cmd.Process
}

// processCPU is the CPU time (user + system) a process has used so far.
func processCPU(t testing.TB, p *os.Process) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid))
	if err != nil {
		t.Fatal(err)
	}
	// The command name, in parentheses, may hold spaces: count fields
	// after it. utime and stime are fields 14 and 15, in clock ticks
	// (100 a second on Linux).
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	ticks := 0
	for _, f := range fields[11:13] {
		n, _ := strconv.Atoi(f)
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// processMemory reads a process's resident set (VmRSS) and its peak
// (VmHWM), in bytes.
func processMemory(t testing.TB, p *os.Process) (rss, peak int64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, _ := strings.Cut(line, ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			peak = kb << 10
		}
	}
	return rss, peak
}

// waitHTTP polls url until it answers 200, or fails after 20s.
func waitHTTP(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not answering after 20s: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tcpSink accepts TCP connections and closes them: blackbox's target.
func tcpSink(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	return l.Addr().String()
}

// BenchmarkServeVsBlackbox drives, one after the other with the same
// loop and 8 clients, rtcprobe serve's /probe for stun_udp and turn_udp
// against its embedded server and blackbox_exporter's tcp_connect against
// a local TCP port; it reports probes/s, the ratios to blackbox, and the
// p99 overhead of a probe on an idle exporter (one client).
func BenchmarkServeVsBlackbox(b *testing.B) {
	bb, bbProc := startBlackbox(b)
	p := startServe(b, nil, "--max-probes", "1024")
	sink := tcpSink(b)
	const workers, rounds, slice = 8, 6, 500 * time.Millisecond
	urls := map[string]string{
		"blackbox_tcp_connect": "http://" + bb + "/probe?module=tcp_connect&target=" + sink,
		"stun_udp":             "http://" + p.addr + probePath("stun_udp", "stun:"+p.embedded),
		"turn_udp":             "http://" + p.addr + probePath("turn_udp", "turn:"+p.embedded),
	}
	for b.Loop() {
		// The machine is shared: the exporters take turns in short
		// slices, so a burst of someone else's load hits all of them.
		total := map[string]loadResult{}
		names := []string{"blackbox_tcp_connect", "stun_udp", "turn_udp"}
		for _, name := range names {
			drive(urls[name], workers, 300*time.Millisecond) // warm up
		}
		procs := map[string]*os.Process{"blackbox_tcp_connect": bbProc, "stun_udp": p.cmd.Process, "turn_udp": p.cmd.Process}
		for range rounds {
			for _, name := range names {
				cpu0 := processCPU(b, procs[name])
				r := drive(urls[name], workers, slice)
				t := total[name]
				t.probes, t.failures, t.took = t.probes+r.probes, t.failures+r.failures, t.took+r.took
				t.cpu += processCPU(b, procs[name]) - cpu0
				total[name] = t
			}
		}
		rates := map[string]float64{}
		for _, name := range names {
			r := total[name]
			if r.probes == 0 || r.failures > r.probes/100 {
				b.Fatalf("%s: %d probes, %d failures", name, r.probes, r.failures)
			}
			rates[name] = r.rate()
			b.ReportMetric(r.rate(), name+"_probes/s")
			// The exporter process's CPU per probe: rtcprobe's includes
			// its embedded server's share of the work.
			b.ReportMetric(float64(r.cpu.Microseconds())/float64(r.probes), name+"_cpu_µs/probe")
		}
		b.ReportMetric(rates["stun_udp"]/rates["blackbox_tcp_connect"], "stun_udp/blackbox")
		b.ReportMetric(rates["turn_udp"]/rates["blackbox_tcp_connect"], "turn_udp/blackbox")
		for _, name := range []string{"stun_udp", "turn_udp"} {
			r := drive(urls[name], 1, 2*time.Second)
			b.ReportMetric(float64(percentile(r.overheads, 0.99))/1e6, name+"_p99_overhead_ms")
			b.ReportMetric(float64(percentile(r.overheads, 0.5))/1e6, name+"_p50_overhead_ms")
		}
	}
	b.ReportMetric(0, "ns/op")
}

// stunResponders starts n minimal STUN Binding responders on loopback,
// each on its own port: n distinct targets for one exporter.
func stunResponders(t testing.TB, n int) []string {
	var out []string
	for range n {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pc.Close() })
		out = append(out, pc.LocalAddr().String())
		go func() {
			buf := make([]byte, 1500)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				req := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
				ua, ok := from.(*net.UDPAddr)
				if req.Decode() != nil || req.Type != stun.BindingRequest || !ok {
					continue
				}
				resp, err := stun.Build(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
					&stun.XORMappedAddress{IP: ua.IP, Port: ua.Port}, stun.Fingerprint)
				if err == nil {
					_, _ = pc.WriteTo(resp.Raw, from)
				}
			}
		}()
	}
	return out
}

// BenchmarkServeRSS1000Targets measures rtcprobe serve's memory while
// 1,000 distinct targets are each probed on a schedule. Scraping each
// every 15 s is 67 probes/s; the benchmark compresses that tenfold, each
// target every 1.5 s (667 probes/s) for 10 rounds (15 s): ten times the
// probes in flight of the real load, so its peak bounds the real one.
func BenchmarkServeRSS1000Targets(b *testing.B) {
	const targets, interval, rounds, workers = 1000, 1500 * time.Millisecond, 10, 64
	addrs := stunResponders(b, targets)
	cfg := filepath.Join(b.TempDir(), "rtcprobe.yml")
	if err := os.WriteFile(cfg, []byte("modules:\n  stun_udp:\n    checks: [stun.udp]\n    allowed_targets: [\"127.0.0.1\"]\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	p := startServe(b, nil, "--config", cfg, "--max-probes", "1024")
	base := "http://" + p.addr
	for b.Loop() {
		idle, _ := processMemory(b, p.cmd.Process)
		jobs := make(chan string, targets)
		var (
			mu           sync.Mutex
			done, failed int
			wg           sync.WaitGroup
		)
		for range workers {
			wg.Go(func() {
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 10 * time.Second}
				defer client.CloseIdleConnections()
				for addr := range jobs {
					resp, err := client.Get(base + probePath("stun_udp", "stun:"+addr))
					ok := err == nil && resp.StatusCode == 200
					if err == nil {
						body, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						ok = ok && strings.Contains(string(body), "\nprobe_success 1\n")
					}
					mu.Lock()
					done++
					if !ok {
						failed++
					}
					mu.Unlock()
				}
			})
		}
		var peakRSS int64
		start := time.Now()
		tick := time.NewTicker(interval / targets)
		for i := range targets * rounds {
			<-tick.C
			jobs <- addrs[i%targets]
			if i%100 == 0 {
				rss, _ := processMemory(b, p.cmd.Process)
				peakRSS = max(peakRSS, rss)
			}
		}
		tick.Stop()
		close(jobs)
		wg.Wait()
		took := time.Since(start)
		_, hwm := processMemory(b, p.cmd.Process)
		if failed > done/100 {
			b.Fatalf("%d of %d probes failed", failed, done)
		}
		b.ReportMetric(float64(done)/took.Seconds(), "probes/s")
		b.ReportMetric(float64(idle)/(1<<20), "idle_RSS_MiB")
		b.ReportMetric(float64(peakRSS)/(1<<20), "peak_RSS_MiB")
		b.ReportMetric(float64(hwm)/(1<<20), "VmHWM_MiB")
	}
	b.ReportMetric(0, "ns/op")
}
