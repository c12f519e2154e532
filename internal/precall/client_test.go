package precall

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/internal/media"
	"github.com/rtcprobe/rtcprobe/probes"
)

// pionClient speaks the page's protocol with a pion peer instead of a
// browser: it starts a session, calls the server's peer on the
// all-candidates task (audio and video both ways, a data channel echo)
// and posts the call's result as the page's interop check would.
type pionClient struct {
	base string
	http *http.Client
}

// callOutcome is what one client's call saw.
type callOutcome struct {
	ReportID string
	Verdict  string
	// Down is what arrived from the server's peer.
	Down probes.RTPCounts
	// DownVideo is the video part of Down.
	DownVideo probes.RTPCounts
	Echoed    int
	Connected time.Duration
}

func (c *pionClient) post(ctx context.Context, path, token, typ string, body []byte) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", typ)
	if token != "" {
		req.Header.Set(sessionHeader, token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return b, resp.StatusCode, err
}

// call runs one session with a call of length d.
func (c *pionClient) call(ctx context.Context, d time.Duration) (callOutcome, error) {
	var out callOutcome
	body, code, err := c.post(ctx, "api/precall/session", "", "application/json", nil)
	if err != nil || code != http.StatusCreated {
		return out, fmt.Errorf("session: %d %s %v", code, body, err)
	}
	var s sessionReply
	if err := json.Unmarshal(body, &s); err != nil {
		return out, err
	}
	task := -1
	for _, t := range s.Tasks {
		if t.Check == "browser.interop" && t.Target == "all candidates" {
			task = t.ID
		}
	}
	if task < 0 {
		return out, fmt.Errorf("no all-candidates call among %d tasks", len(s.Tasks))
	}
	api, err := probes.NewAPI(probes.APIConfig{Loopback: true})
	if err != nil {
		return out, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return out, err
	}
	var readers sync.WaitGroup
	defer func() { _ = pc.Close(); readers.Wait() }()
	var video, audio probes.RTPReceiver
	video.Video = true
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		rx := &audio
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			rx = &video
		}
		readers.Add(1)
		go func() { defer readers.Done(); rx.Read(tr) }()
	})
	var clips []*media.Clip
	var tracks []*webrtc.TrackLocalStaticSample
	for _, load := range []func() (*media.Clip, error){media.Video, media.Audio} {
		clip, err := load()
		if err != nil {
			return out, err
		}
		track, err := webrtc.NewTrackLocalStaticSample(clip.Capability(), "m", "client")
		if err != nil {
			return out, err
		}
		sender, err := pc.AddTrack(track)
		if err != nil {
			return out, err
		}
		readers.Add(1)
		go func() {
			defer readers.Done()
			buf := make([]byte, 1500)
			for {
				if _, _, err := sender.Read(buf); err != nil {
					return
				}
			}
		}()
		clips, tracks = append(clips, clip), append(tracks, track)
	}
	dc, err := pc.CreateDataChannel("echo", nil)
	if err != nil {
		return out, err
	}
	echoes := make(chan struct{}, 16)
	dc.OnMessage(func(webrtc.DataChannelMessage) { echoes <- struct{}{} })
	opened := make(chan struct{})
	dc.OnOpen(func() { close(opened) })
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return out, err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return out, err
	}
	<-gathered
	start := time.Now()
	answer, code, err := c.post(ctx, fmt.Sprintf("api/precall/signal/%d", task), s.Token, "application/sdp", []byte(pc.LocalDescription().SDP))
	if err != nil || code != http.StatusOK {
		return out, fmt.Errorf("signal: %d %s %v", code, answer, err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		return out, err
	}
	select {
	case <-opened:
	case <-ctx.Done():
		return out, fmt.Errorf("the data channel did not open: %w", ctx.Err())
	}
	out.Connected = time.Since(start)
	for i := 0; i < 10; i++ {
		if err := dc.SendText(fmt.Sprint("ping ", i)); err != nil {
			return out, err
		}
		select {
		case <-echoes:
			out.Echoed++
		case <-time.After(time.Second):
		}
	}
	var players sync.WaitGroup
	for i := range clips {
		players.Add(1)
		go func() { defer players.Done(); _, _ = clips[i].Play(ctx, tracks[i], d) }()
	}
	players.Wait()
	// Loss counts gaps between packets received, so packets still in
	// flight are not counted as lost.
	out.DownVideo, out.Down = video.Snapshot(), audio.Snapshot()
	out.Down.Packets += out.DownVideo.Packets
	out.Down.Lost += out.DownVideo.Lost
	result := map[string]any{
		"connectedMs": float64(out.Connected.Milliseconds()), "echoed": out.Echoed, "messages": 10, "rttsMs": []float64{},
		"video": map[string]any{"inbound": map[string]any{"codec": "video/VP8", "packetsReceived": out.DownVideo.Packets,
			"packetsLost": out.DownVideo.Lost, "framesDecoded": out.DownVideo.Frames}},
		"audio": map[string]any{"inbound": map[string]any{"codec": "audio/opus", "packetsReceived": out.Down.Packets - out.DownVideo.Packets,
			"packetsLost": out.Down.Lost - out.DownVideo.Lost}},
	}
	post, _ := json.Marshal(map[string]any{"user_agent": "rtcprobe load client (pion)", "results": []map[string]any{
		{"task": task, "ok": true, "ms": float64(time.Since(start).Milliseconds()), "result": result}}})
	body, code, err = c.post(ctx, "api/precall/result", s.Token, "application/json", post)
	if err != nil || code != http.StatusCreated {
		return out, fmt.Errorf("result: %d %s %v", code, body, err)
	}
	var v struct{ ID, Verdict string }
	if err := json.Unmarshal(body, &v); err != nil {
		return out, err
	}
	out.ReportID, out.Verdict = v.ID, v.Verdict
	return out, nil
}

// loadRun is a number of concurrent pion clients' calls.
type loadRun struct {
	outcomes []callOutcome
	// up are the uplink counts the server's peers stored (browser →
	// server), by report.
	upLossPct []float64
	took      time.Duration
}

// runLoad runs n clients at once, each a call of length d, and reads back
// what the server stored about each.
func runLoad(t testing.TB, f *fixture, n int, d time.Duration) loadRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d+60*time.Second)
	defer cancel()
	c := &pionClient{base: f.url, http: &http.Client{Timeout: 30 * time.Second}}
	var (
		mu   sync.Mutex
		run  loadRun
		errs []string
		wg   sync.WaitGroup
	)
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := c.call(ctx, d)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err.Error())
				return
			}
			run.outcomes = append(run.outcomes, o)
		}()
	}
	wg.Wait()
	run.took = time.Since(start)
	if len(errs) > 0 {
		t.Fatalf("%d of %d calls failed: %s", len(errs), n, strings.Join(errs, "; "))
	}
	for _, o := range run.outcomes {
		rep, _ := storedReport(t, f, o.ReportID)
		for _, r := range rep.Results {
			if r.CheckID == "browser.interop" && r.Target == "all candidates" {
				run.upLossPct = append(run.upLossPct, r.Metrics["up_loss_pct"])
			}
		}
	}
	return run
}

// lossPct sums what every call lost.
func (l loadRun) downLossPct() float64 {
	var got, lost int
	for _, o := range l.outcomes {
		got, lost = got+o.Down.Packets, lost+o.Down.Lost
	}
	if got+lost == 0 {
		return 100
	}
	return 100 * float64(lost) / float64(got+lost)
}

// TestPionClients: clients that speak the page's protocol hold calls with
// the server's peers at once; media flows both ways, nothing is lost on
// loopback, and each result is stored, judged.
func TestPionClients(t *testing.T) {
	// Six calls from one address: more than its share by default.
	f := startFixture(t, fixtureConfig{opt: Options{SessionsPerMinute: 1000, MaxSessionsPerAddress: 6}})
	run := runLoad(t, f, 6, 2*time.Second)
	for _, o := range run.outcomes {
		if o.Echoed != 10 || o.DownVideo.Frames < 20 || o.Down.Packets < 100 || o.ReportID == "" {
			t.Errorf("a call: %d echoes, %d frames and %d packets down, report %q", o.Echoed, o.DownVideo.Frames, o.Down.Packets, o.ReportID)
		}
	}
	if loss := run.downLossPct(); loss > 1 {
		t.Errorf("loss from the server's peers: %.2f%%", loss)
	}
	for _, up := range run.upLossPct {
		if up > 1 {
			t.Errorf("loss at the server's peers: %.2f%%", up)
		}
	}
	if len(run.upLossPct) != 6 {
		t.Errorf("%d reports with the call's uplink, want 6", len(run.upLossPct))
	}
}
