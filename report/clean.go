package report

import (
	"github.com/rtcprobe/rtcprobe/checks/result"
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
	c.Results = make([]result.Result, len(r.Results))
	for i, res := range r.Results {
		c.Results[i] = cleanResult(res)
	}
	if r.Repeat != nil {
		rp := *r.Repeat
		rp.Checks = make([]RepeatedCheck, len(r.Repeat.Checks))
		for i, rc := range r.Repeat.Checks {
			rc.CheckID, rc.Title, rc.Target = sanitize.Text(rc.CheckID), sanitize.Text(rc.Title), sanitize.Text(rc.Target)
			rc.Metrics = cleanKeys(rc.Metrics)
			rc.KeyMetrics = cleanTexts(rc.KeyMetrics)
			rp.Checks[i] = rc
		}
		rp.Iterations = make([]Iteration, len(r.Repeat.Iterations))
		for i, it := range r.Repeat.Iterations {
			results := make([]result.Result, len(it.Results))
			for j, res := range it.Results {
				results[j] = cleanResult(res)
			}
			it.Results = results
			rp.Iterations[i] = it
		}
		c.Repeat = &rp
	}
	return c
}

// cleanResult returns a copy of res whose strings are safe to render;
// the error, advice and evidence may span lines, the rest may not.
func cleanResult(res result.Result) result.Result {
	res.CheckID = sanitize.Text(res.CheckID)
	res.Title = sanitize.Text(res.Title)
	res.Target = sanitize.Text(res.Target)
	res.Error = sanitize.Block(res.Error)
	res.Advice = sanitize.Block(res.Advice)
	if res.Metrics != nil {
		res.Metrics = cleanKeys(res.Metrics)
	}
	res.KeyMetrics = cleanTexts(res.KeyMetrics)
	evidence := make([]probes.Evidence, len(res.Evidence))
	for i, e := range res.Evidence {
		evidence[i] = probes.Evidence{Name: sanitize.Text(e.Name), Value: sanitize.Block(e.Value)}
	}
	res.Evidence = evidence
	res.Observations = cleanObservations(res.Observations)
	res.Diagnosis = cleanDiagnosis(res.Diagnosis)
	return res
}

// cleanKeys copies a map with its keys sanitized.
func cleanKeys[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[sanitize.Text(k)] = v
	}
	return out
}

// cleanTexts copies texts sanitized.
func cleanTexts(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = sanitize.Text(s)
	}
	return out
}
