package precall

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/internal/store"
)

// goodPost is a valid post for s: the api check's result.
func goodPost(t testing.TB, s sessionReply) []byte {
	t.Helper()
	b, err := io.ReadAll(post(fmt.Sprintf(`[{"task":%d,"ok":true,"ms":12,"result":%s}]`, taskID(t, s, "browser.api"), apiResult)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// postAs posts body to the result API from the local address ip.
func postAs(t testing.TB, f *fixture, ip string, body []byte, headers ...string) response {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}, Timeout: time.Minute}
	req, err := http.NewRequest(http.MethodPost, f.url+"api/precall/result", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{code: resp.StatusCode, header: resp.Header, body: string(b)}
}

// TestReportSizeCap: a valid post that would store a report of some
// 200 KiB (a hundred device labels of 2,000 characters each) is refused
// with 413 naming the limit, and nothing is stored; a real-sized one is
// stored.
func TestReportSizeCap(t *testing.T) {
	f := startFixture(t, fixtureConfig{})
	s := f.session(t)
	r := f.do(t, "POST", "api/precall/result", post(tooBig(t, s)), tokenHeader(s))
	if r.code != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "64 KiB") {
		t.Fatalf("a post judged to a 200 KiB report = %d %q, want 413 naming 64 KiB", r.code, r.body)
	}
	if rows, err := f.store.List(context.Background(), store.Filter{}); err != nil || len(rows) != 0 {
		t.Fatalf("stored after 413: %d rows, %v", len(rows), err)
	}
	s2 := f.session(t)
	if r := f.do(t, "POST", "api/precall/result", bytes.NewReader(goodPost(t, s2)), tokenHeader(s2)); r.code != http.StatusCreated {
		t.Fatalf("a real-sized post = %d %s", r.code, r.body)
	}
}

// tooBig is results for s that are judged to a report of some 200 KiB (a
// hundred device labels of 2,000 characters each).
func tooBig(t testing.TB, s sessionReply) string {
	var devices []string
	for i := range 100 {
		devices = append(devices, fmt.Sprintf(`{"kind":"videoinput","label":"%d %s"}`, i, strings.Repeat("x", 1990)))
	}
	return fmt.Sprintf(`[{"task":%d,"ok":true,"ms":12,"result":%s},{"task":%d,"ok":true,"ms":3,"result":{"devices":[%s],"counts":{"videoinput":100},"permission":"granted"}}]`,
		taskID(t, s, "browser.api"), apiResult, taskID(t, s, "browser.devices"), strings.Join(devices, ","))
}

// TestReportTooLargeSpendsQuota: a post refused as too large ends its
// session, and the result it cost stays spent: with results_per_hour 1,
// the address's next result is refused (429) instead of stored, and the
// address did not get its session's place and a new result for free.
func TestReportTooLargeSpendsQuota(t *testing.T) {
	f := startFixture(t, fixtureConfig{config: &config.Config{Precall: &config.Precall{ResultsPerHour: 1}}})
	s := f.session(t)
	b, err := io.ReadAll(post(tooBig(t, s)))
	if err != nil {
		t.Fatal(err)
	}
	if r := postAs(t, f, "127.0.3.7", b, tokenHeader(s)); r.code != http.StatusRequestEntityTooLarge {
		t.Fatalf("a post judged too large = %d %s, want 413", r.code, r.body)
	}
	s2 := f.session(t)
	if r := postAs(t, f, "127.0.3.7", goodPost(t, s2), tokenHeader(s2)); r.code != http.StatusTooManyRequests || !strings.Contains(r.body, "results an hour") {
		t.Fatalf("the next result from the address = %d %s, want 429: the 413 spent its hour's result", r.code, r.body)
	}
	// Another address of another network stores its own.
	if r := postAs(t, f, "127.0.4.7", goodPost(t, s2), tokenHeader(s2)); r.code != http.StatusCreated {
		t.Fatalf("a result from another network = %d %s", r.code, r.body)
	}
}

// TestResultsPerHour: with precall.results_per_hour 2, an address stores
// two results an hour and its third is refused with 429 and Retry-After
// (its token still good); its /24 network stores ten (five addresses'
// worth), then an eleventh address of it is refused too. The refusals
// are counted on /metrics.
func TestResultsPerHour(t *testing.T) {
	f := startFixture(t, fixtureConfig{config: &config.Config{Precall: &config.Precall{ResultsPerHour: 2}},
		opt: Options{SessionsPerMinute: 1000}})
	store1 := func(ip string) response {
		s := f.session(t)
		return postAs(t, f, ip, goodPost(t, s), tokenHeader(s))
	}
	for i := range 2 {
		if r := store1("127.0.0.2"); r.code != http.StatusCreated {
			t.Fatalf("result %d from 127.0.0.2 = %d %s", i+1, r.code, r.body)
		}
	}
	s := f.session(t)
	body := goodPost(t, s)
	r := postAs(t, f, "127.0.0.2", body, tokenHeader(s))
	if r.code != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "at most 2 results an hour from one address") {
		t.Fatalf("3rd result in an hour from one address = %d %v %q, want 429 with Retry-After naming the cap", r.code, r.header, r.body)
	}
	// The refused post spent nothing: its token stores from elsewhere.
	if r := postAs(t, f, "127.0.0.3", body, tokenHeader(s)); r.code != http.StatusCreated {
		t.Fatalf("the refused token from another address = %d %s", r.code, r.body)
	}
	stored := 3
	for ip := 3; stored < 2*networkShare; ip++ {
		for stored < 2*networkShare && stored < 2*(ip-1) {
			if r := store1(fmt.Sprintf("127.0.0.%d", ip)); r.code != http.StatusCreated {
				t.Fatalf("result %d of the network, from 127.0.0.%d = %d %s", stored+1, ip, r.code, r.body)
			}
			stored++
		}
	}
	r = store1("127.0.0.50")
	if r.code != http.StatusTooManyRequests || !strings.Contains(r.body, "at most 10 results an hour from one network") {
		t.Fatalf("the network's 11th result = %d %q, want 429 naming the network's cap", r.code, r.body)
	}
	m := f.do(t, "GET", "metrics", nil)
	if !strings.Contains(m.body, `rtcprobe_precall_refused_total{reason="quota"} 2`) {
		t.Errorf("/metrics does not count the 2 refusals:\n%s", grepLines(m.body, "rtcprobe_precall_refused_total"))
	}
	if rows, err := f.store.List(context.Background(), store.Filter{}); err != nil || len(rows) != 2*networkShare {
		t.Errorf("%d results stored, want %d (%v)", len(rows), 2*networkShare, err)
	}
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// bigReport is an rtcprobe/v1 report of about n bytes.
func bigReport(n int) []byte {
	return []byte(`{"schema":"rtcprobe/v1","checks":[{"id":"browser.ice","status":"fail"}],"padding":"` + strings.Repeat("x", n) + `"}`)
}

// TestExportHeapBounded: exporting 1000 results of 60 KiB each (60 MiB of
// JSON) grows the heap by under 32 MiB (216 MiB when the export was built in memory): rows are streamed from the
// database to the client one at a time. Both exports are complete.
func TestExportHeapBounded(t *testing.T) {
	const rows, size, bound = 1000, 60 << 10, 32 << 20
	f := startFixture(t, fixtureConfig{})
	ctx := context.Background()
	rep := bigReport(size)
	base := time.Now().Add(-time.Hour)
	for i := range rows {
		r := store.Result{ID: rand.Text(), Created: base.Add(time.Duration(i) * time.Millisecond), Verdict: "fail", Browser: "Firefox 153.0", OS: "Linux",
			Client: "192.0.2.0/24", Checks: store.ChecksOf(rep), Report: rep}
		if err := f.store.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	rep = nil
	for _, format := range []string{"json", "csv"} {
		t.Run(format, func(t *testing.T) {
			heapPeak := sampleHeap()
			req, _ := http.NewRequest("GET", f.url+"admin/export?format="+format, nil)
			req.Header.Set("Authorization", "Bearer "+adminToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			n, entries, failing := 0, 0, 0
			if format == "json" {
				// Read one entry at a time, as a client with bounded memory would.
				dec := json.NewDecoder(resp.Body)
				if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
					t.Fatalf("export starts with %v, %v", tok, err)
				}
				for dec.More() {
					var e struct {
						ID      string          `json:"id"`
						Failing []string        `json:"failing_checks"`
						Report  json.RawMessage `json:"report"`
					}
					if err := dec.Decode(&e); err != nil {
						t.Fatal(err)
					}
					entries++
					n += len(e.Report)
					if len(e.Failing) == 1 && e.Failing[0] == "browser.ice" {
						failing++
					}
				}
			} else {
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				n = len(b)
				entries = strings.Count(string(b), "\n") - 1
				failing = strings.Count(string(b), ",browser.ice\n")
			}
			resp.Body.Close()
			grew := heapPeak()
			t.Logf("%s export: %d entries, %d KiB; heap in use grew by %d MiB at most", format, entries, n>>10, grew>>20)
			if resp.StatusCode != 200 || entries != rows || failing != rows {
				t.Fatalf("export = %d with %d entries (%d with their failing check), want %d", resp.StatusCode, entries, failing, rows)
			}
			if grew > bound {
				t.Errorf("the heap grew by %d MiB exporting, want under %d MiB", grew>>20, bound>>20)
			}
		})
	}
}
