package browser

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/rtcprobe/rtcprobe/probes"
)

// ICEConfig adjusts the browser's candidate gathering.
type ICEConfig struct {
	// Timeout bounds gathering (default 3 s): a server that has not
	// answered by then counts as silent.
	Timeout time.Duration
}

type candidate struct {
	Type          string  `json:"type"`
	Protocol      string  `json:"protocol"`
	Address       string  `json:"address"`
	Port          int     `json:"port"`
	URL           string  `json:"url"`
	RelayProtocol string  `json:"relayProtocol"`
	AtMs          float64 `json:"atMs"`
}

// ICECandidateError is one icecandidateerror event the page saw.
type ICECandidateError struct {
	URL       string  `json:"url"`
	ErrorCode int     `json:"errorCode"`
	ErrorText string  `json:"errorText"`
	AtMs      float64 `json:"atMs"`
}

// ICESummary is what browser ICE gathering found besides counts, as data.
type ICESummary struct {
	Errors []ICECandidateError
}

// ICETask is the page check of browser.ice: gathering with one server
// over one transport. The page gets the credential; no output does.
func ICETask(t probes.Target, cfg ICEConfig) Task {
	return Task{Name: PageICE, Arg: map[string]any{"iceServers": []webrtc.ICEServer{probes.ICEServer(t.Server, t.Transport)},
		"timeoutMs": cfg.timeout().Milliseconds()}}
}

func (cfg ICEConfig) timeout() time.Duration {
	if cfg.Timeout <= 0 {
		return 3 * time.Second
	}
	return cfg.Timeout
}

// ICE gathers candidates in the browser with one server over one
// transport and counts host, srflx and relay candidates and
// icecandidateerror events. relay is reported for TURN servers only, so a
// threshold on it never applies to a STUN server. Chrome drops a srflx
// candidate equal to a host one, so on loopback or without NAT a working
// STUN server can yield none: "complete" and "errors" are what show it
// answered.
func ICE(ctx context.Context, b *Browser, t probes.Target, cfg ICEConfig) probes.Measurement {
	if err := b.usesServer(t); err != nil {
		return probes.Measurement{Err: err, Evidence: b.identity()}
	}
	task := ICETask(t, cfg)
	task.Arg["iceServers"] = []webrtc.ICEServer{b.iceServerFor(t)}
	return b.measure(ctx, task, permissionDefault, func(r PageResult) probes.Measurement { return ICEFrom(t, r) })
}

// ICEFrom turns the ice page check's result into browser.ice's
// measurement for target t.
func ICEFrom(t probes.Target, r PageResult) (m probes.Measurement) {
	var res struct {
		Candidates []candidate         `json:"candidates"`
		Errors     []ICECandidateError `json:"errors"`
		Complete   bool                `json:"complete"`
		GatherMs   float64             `json:"gatherMs"`
	}
	if m.Err = r.Decode(PageICE, &res); m.Err != nil {
		return m
	}
	m.Summary = &ICESummary{Errors: res.Errors}
	for _, e := range res.Errors {
		m.AddEvidence("icecandidateerror", fmt.Sprintf("%d %s (%s) after %.0f ms", e.ErrorCode, strings.TrimSpace(e.ErrorText), e.URL, e.AtMs))
	}
	count := map[string]int{}
	// The candidates that show the server worked come first.
	rank := map[string]int{"relay": 0, "srflx": 1, "prflx": 2, "host": 3}
	slices.SortStableFunc(res.Candidates, func(a, b candidate) int { return rank[a.Type] - rank[b.Type] })
	for _, c := range res.Candidates {
		count[c.Type]++
		desc := fmt.Sprintf("%s %s %s:%d", c.Type, c.Protocol, c.Address, c.Port)
		if c.RelayProtocol != "" {
			desc += " via " + c.RelayProtocol
		}
		m.AddEvidence("candidate", fmt.Sprintf("%s after %.0f ms", desc, c.AtMs))
	}
	m.SetMetric("host", float64(count["host"]))
	m.SetMetric("srflx", float64(count["srflx"]))
	if t.Server.IsTURN() {
		m.SetMetric("relay", float64(count["relay"]))
	}
	m.SetMetric("errors", float64(len(res.Errors)))
	m.SetMetric("complete", boolMetric(res.Complete))
	m.SetMetric("gather_ms", res.GatherMs)
	return m
}
