package report

import (
	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/internal/sanitize"
	"github.com/rtcprobe/rtcprobe/probes"
)

// Writers that people read (table, progress, Markdown, HTML, JUnit) pass
// every string through the sanitizer first. Probes already clean what
// servers send where it enters; a writer does not rely on that, so no
// control character from a server, a browser or a file reaches a
// terminal or a document. JSON escapes them itself.

// clean returns a copy of r whose strings are safe to render.
func (r Report) clean() Report {
	c := r
	c.Version = sanitize.Text(r.Version)
	c.Servers = make([]string, len(r.Servers))
	for i, s := range r.Servers {
		c.Servers[i] = sanitize.Text(s)
	}
	e := r.Environment
	c.Environment = Environment{OS: sanitize.Text(e.OS), GoVersion: sanitize.Text(e.GoVersion),
		Browser: sanitize.Text(e.Browser), Profile: sanitize.Text(e.Profile), Config: sanitize.Text(e.Config)}
	c.Results = make([]checks.Result, len(r.Results))
	for i, res := range r.Results {
		c.Results[i] = cleanResult(res)
	}
	return c
}

// cleanResult returns a copy of res whose strings are safe to render;
// the error, advice and evidence may span lines, the rest may not.
func cleanResult(res checks.Result) checks.Result {
	res.CheckID = sanitize.Text(res.CheckID)
	res.Title = sanitize.Text(res.Title)
	res.Target = sanitize.Text(res.Target)
	res.Error = sanitize.Block(res.Error)
	res.Advice = sanitize.Block(res.Advice)
	if res.Metrics != nil {
		metrics := make(map[string]float64, len(res.Metrics))
		for k, v := range res.Metrics {
			metrics[sanitize.Text(k)] = v
		}
		res.Metrics = metrics
	}
	keys := make([]string, len(res.KeyMetrics))
	for i, k := range res.KeyMetrics {
		keys[i] = sanitize.Text(k)
	}
	res.KeyMetrics = keys
	evidence := make([]probes.Evidence, len(res.Evidence))
	for i, e := range res.Evidence {
		evidence[i] = probes.Evidence{Name: sanitize.Text(e.Name), Value: sanitize.Block(e.Value)}
	}
	res.Evidence = evidence
	return res
}
