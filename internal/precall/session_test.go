package precall

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/config"
)

// TestSessionsUnderConcurrentUse: results posted (each ends its session)
// while /metrics counts the live sessions and new sessions start. Run
// with -race: whether a session had ended was read without the lock it
// was written under.
func TestSessionsUnderConcurrentUse(t *testing.T) {
	// 32 sessions from two addresses in one /24: the shares of one
	// address and one network are not what this test is about.
	f := startFixture(t, fixtureConfig{opt: Options{SessionsPerMinute: 1000, MaxSessionsPerAddress: 100, MaxSessionsPerNetwork: 100}})
	const runs = 16
	bodies := make([]string, runs)
	tokens := make([]string, runs)
	for i := range runs {
		s := f.session(t)
		tokens[i] = tokenHeader(s)
		bodies[i] = fmt.Sprintf(`[{"task":%d,"ok":true,"ms":5,"result":%s}]`, taskID(t, s, "browser.api"), apiResult)
	}
	// send is f.do without t.Fatal, which only the test's goroutine may
	// call, from its own loopback address: the server's fair share per
	// client address would otherwise refuse some of 48 requests at once.
	var next atomic.Int32
	send := func(method, path, body string, headers ...string) int {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(1+next.Add(1)))}}
		client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
		var rd io.Reader
		if body != "" {
			rd = post(body)
		}
		req, err := http.NewRequest(method, f.url+path, rd)
		if err != nil {
			t.Error(err)
			return 0
		}
		for _, h := range headers {
			k, v, _ := strings.Cut(h, ": ")
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	var wg sync.WaitGroup
	for i := range runs {
		wg.Add(3)
		go func() {
			defer wg.Done()
			if code := send("POST", "api/precall/result", bodies[i], tokens[i]); code != http.StatusCreated {
				t.Errorf("result %d: %d", i, code)
			}
		}()
		go func() {
			defer wg.Done()
			if code := send("GET", "metrics", ""); code != http.StatusOK {
				t.Errorf("/metrics: %d", code)
			}
		}()
		go func() {
			defer wg.Done()
			if code := send("POST", "api/precall/session", ""); code != http.StatusCreated {
				t.Errorf("a new session: %d", code)
			}
		}()
	}
	wg.Wait()
	if n := f.pre.sessions.inProgress(); n != runs {
		t.Errorf("%d sessions live, want the %d started last", n, runs)
	}
}

// TestSessionEndWhileCounted: the same race without the network between
// (whose reads and writes order goroutines for the race detector and can
// hide it): sessions end while others are counted and added.
func TestSessionEndWhileCounted(t *testing.T) {
	ss := newSessions(config.SessionLimits{Max: 1000, PerAddress: 1000, PerNetwork: 1000}, time.Now)
	var all []*session
	for range 64 {
		s := &session{expires: time.Now().Add(time.Hour)}
		if _, err := ss.add(s); err != nil {
			t.Fatal(err)
		}
		all = append(all, s)
	}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for _, s := range all {
			s.end()
		}
	}()
	go func() {
		defer wg.Done()
		for range all {
			ss.inProgress()
		}
	}()
	go func() {
		defer wg.Done()
		for range all {
			if _, err := ss.add(&session{expires: time.Now().Add(time.Hour)}); err != nil {
				t.Error(err)
			}
		}
	}()
	wg.Wait()
	if n := ss.inProgress(); n != len(all) {
		t.Errorf("%d sessions live, want the %d added last", n, len(all))
	}
}
