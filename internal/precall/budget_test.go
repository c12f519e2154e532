package precall

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/testkit/testenv"
)

// worstBody is a post of just under 1 MiB that is nearly all tiny values,
// the body whose parsed tree is the largest.
func worstBody() []byte {
	head, tail := `{"user_agent":"x","results":[{"task":0,"ok":true,"ms":1,"result":{"a":[`, `0]}}]}`
	return []byte(head + strings.Repeat("0,", (maxResults-len(head)-len(tail))/2) + tail)
}

// startPost sends, on a connection of its own, the headers of a 1 MiB
// post and only the first KiB of its body; the rest never comes.
func startPost(t *testing.T, f *fixture, header string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(f.url, "http://"), "/"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	head := fmt.Sprintf("POST /api/precall/result HTTP/1.1\r\nHost: rtcprobe\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n\r\n", maxResults, header)
	if _, err := io.WriteString(c, head+strings.Repeat(" ", 1<<10)); err != nil {
		t.Fatal(err)
	}
	return c
}

// answer reads a stalled post's answer: it must come while the body is
// still being sent, i.e. without the server reading it.
func answer(t *testing.T, name string, c net.Conn, want int) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Errorf("%s: no answer with 1 KiB of a 1 MiB body sent (%v): the server waits for the body", name, err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Errorf("%s = %d, want %d", name, resp.StatusCode, want)
	}
}

// TestRefusedTokenBodyUnread: a post with a spent, unknown or busy token
// is refused after 1 KiB of a 1 MiB body, without the server reading the
// rest (the client sends nothing more until the answer).
func TestRefusedTokenBodyUnread(t *testing.T) {
	testenv.CheckGoroutines(t)
	f := startFixture(t, fixtureConfig{})
	s := f.session(t)
	good := fmt.Sprintf(`[{"task":%d,"ok":true,"ms":12,"result":%s}]`, taskID(t, s, "browser.api"), apiResult)

	// A token with a post in flight: a second post is refused at once.
	busy := f.session(t)
	first := startPost(t, f, tokenHeader(busy))
	time.Sleep(200 * time.Millisecond) // the first post holds its session
	answer(t, "a second post while one is in flight", startPost(t, f, tokenHeader(busy)), http.StatusConflict)
	first.Close()

	if r := f.do(t, "POST", "api/precall/result", post(good), tokenHeader(s)); r.code != http.StatusCreated {
		t.Fatalf("a good post = %d %s", r.code, r.body)
	}
	answer(t, "a spent token", startPost(t, f, tokenHeader(s)), http.StatusConflict)
	answer(t, "an unknown token", startPost(t, f, sessionHeader+": "+strings.Repeat("A", 26)), http.StatusForbidden)
}

// TestResultPostsHeap: 256 worst-case posts at once, each with its own
// valid token, grow the heap by less than 256 MiB: bodies are read and
// parsed under budgets, and what finds no budget in time is refused with
// 503.
func TestResultPostsHeap(t *testing.T) {
	const posts, bound = 256, 256 << 20
	f := startFixture(t, fixtureConfig{opt: Options{SessionsPerMinute: 10000, MaxSessions: posts, MaxSessionsPerAddress: posts, MaxSessionsPerNetwork: posts}})
	f.pre.budgetWait = 2 * time.Second // keeps the test short
	tokens := make([]string, posts)
	for i := range tokens {
		tokens[i] = tokenHeader(f.session(t))
	}
	body := worstBody() // one copy shared by every post
	heapPeak := sampleHeap()
	// From 16 addresses in 16 networks, 16 posts each: the server's fair
	// shares per client address and network admit every one, so the
	// budgets are what hold.
	codes := make([]int, posts)
	var wg sync.WaitGroup
	for i := range posts {
		wg.Go(func() {
			codes[i] = postFrom(t, fmt.Sprintf("127.0.%d.1", i%16), f.url+"api/precall/result", body, tokens[i])
		})
	}
	wg.Wait()
	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	grew := heapPeak()
	t.Logf("%d posts of %d KiB: answers %v, heap in use grew by %d MiB at most", posts, len(body)>>10, count, grew>>20)
	if count[http.StatusBadRequest] == 0 || count[http.StatusBadRequest]+count[http.StatusServiceUnavailable] != posts {
		t.Errorf("answers %v: want each post parsed (400, the schema refuses it) or refused as busy (503), some parsed", count)
	}
	if grew > bound {
		t.Errorf("the heap grew by %d MiB, want under %d MiB", grew>>20, bound>>20)
	}
}

// postFrom posts body from the local address ip and gives the status.
func postFrom(t *testing.T, ip, url string, body []byte, headers ...string) int {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// sampleHeap samples the heap in use every 5 ms from now on; the function
// it returns stops sampling and says by how much the heap grew at most,
// from a collected start.
func sampleHeap() (grew func() int64) {
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() int64 {
		close(stop)
		<-sampled
		return int64(peak.Load()) - int64(base.HeapInuse)
	}
}
