package witness

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/probes"
)

// TestUDPAnswersMarkersOnly: a witness echoes an audit marker and
// nothing else (no echo service for anyone), and no more than its budget
// a second.
func TestUDPAnswersMarkersOnly(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen []Arrival
	)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- ServeUDP(ctx, pc, func(a Arrival) { mu.Lock(); seen = append(seen, a); mu.Unlock() })
	}()
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echo := func(payload string) bool {
		t.Helper()
		if _, err := c.Write([]byte(payload)); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		buf := make([]byte, 1500)
		n, err := c.Read(buf)
		return err == nil && string(buf[:n]) == payload
	}
	if echo("GET / HTTP/1.0\r\n\r\n") {
		t.Error("echoed something that is no marker")
	}
	if echo(probes.AuditMarkerPrefix + strings.Repeat("x", probes.MaxMarkerSize)) {
		t.Error("echoed an oversized marker")
	}
	if !echo(probes.AuditMarkerPrefix + "0123456789abcdef 1") {
		t.Fatal("a marker did not come back")
	}
	// A burst: what comes back within the second is the budget at most.
	for range 2 * echoesPerSecond {
		if _, err := c.Write([]byte(probes.AuditMarkerPrefix + "0123456789abcdef 2")); err != nil {
			t.Fatal(err)
		}
	}
	echoed := 0
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	for buf := make([]byte, 100); ; echoed++ {
		if _, err := c.Read(buf); err != nil {
			break
		}
	}
	if echoed > echoesPerSecond {
		t.Errorf("%d markers echoed within a second or so, budget %d", echoed, echoesPerSecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2*echoesPerSecond+1 || seen[0].Marker != probes.AuditMarkerPrefix+"0123456789abcdef 1" || !seen[0].Echoed {
		t.Errorf("arrivals %v", seen)
	}
}

// TestTCPReportsConnections: a connection is reported as it comes, a
// marker on it is echoed.
func TestTCPReportsConnections(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan Arrival, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- ServeTCP(ctx, l, func(a Arrival) { got <- a }) }()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	first := <-got
	if first.Network != "tcp" || first.Marker != "" {
		t.Errorf("connection: %v", first)
	}
	marker := probes.AuditMarkerPrefix + "0123456789abcdef 3"
	if _, err := c.Write([]byte(marker)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, _ := c.Read(buf)
	if string(buf[:n]) != marker {
		t.Errorf("echo %q", buf[:n])
	}
	if a := <-got; a.Marker != marker || !a.Echoed {
		t.Errorf("marker: %v", a)
	}
	_ = c.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestReportsBounded: a flood of markers (anyone who reaches the witness
// can send one) writes at most reportsPerSecond lines a second; the rest
// are counted into the next line, so none is lost from the count.
func TestReportsBounded(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu              sync.Mutex
		lines, arrivals int
	)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- ServeUDP(ctx, pc, func(a Arrival) { mu.Lock(); lines++; arrivals += 1 + a.Unreported; mu.Unlock() })
	}()
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const flood = 1000
	start := time.Now()
	for range flood {
		if _, err := c.Write([]byte(probes.AuditMarkerPrefix + "0123456789abcdef 3")); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	got, elapsed := lines, time.Since(start)
	mu.Unlock()
	if limit := reportsPerSecond * (1 + int(elapsed/time.Second)); got > limit {
		t.Errorf("%d lines for a flood of %d in %s, want at most %d", got, flood, elapsed, limit)
	}
	// One more after the second has passed carries the count of the rest.
	time.Sleep(time.Second)
	if _, err := c.Write([]byte(probes.AuditMarkerPrefix + "0123456789abcdef 4")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	// The kernel drops some of a flood on a full socket buffer; what was
	// read and not written is in the count.
	if arrivals <= lines || lines > 2*reportsPerSecond+1 {
		t.Errorf("%d lines account for %d arrivals: the unwritten ones are not counted", lines, arrivals)
	}
}
