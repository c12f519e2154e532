package precall

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/internal/store"
	"github.com/rtcprobe/rtcprobe/probes"
	"github.com/rtcprobe/rtcprobe/report"
)

// errNotRun is a check the page never posted a result for: it could not
// run it (the user left, or the browser lacks what it needs).
var errNotRun = fmt.Errorf("%w: the page posted no result for this check", probes.ErrUnsupported)

// check validates a post against the session: each result for a task it
// has, once, valid for its page check (FieldError otherwise); tree is the
// post's results as decodePosted parsed them.
func check(s *session, in *posted, tree []any) (map[int]postedTask, error) {
	byTask := map[int]postedTask{}
	for i, r := range in.Results {
		if r.Task >= len(s.jobs) {
			return nil, &FieldError{Field: fmt.Sprintf("results[%d].task", i), Msg: fmt.Sprintf("no task %d in this session (it has %d)", r.Task, len(s.jobs))}
		}
		if _, dup := byTask[r.Task]; dup {
			return nil, &FieldError{Field: fmt.Sprintf("results[%d].task", i), Msg: fmt.Sprintf("task %d posted twice", r.Task)}
		}
		switch {
		case r.OK && len(r.Result) == 0:
			return nil, &FieldError{Field: fmt.Sprintf("results[%d].result", i), Msg: "missing (ok is true)"}
		case !r.OK && r.Error == nil:
			return nil, &FieldError{Field: fmt.Sprintf("results[%d].error", i), Msg: "missing (ok is false)"}
		case r.OK:
			if err := validate(s.task(r.Task).Name, fmt.Sprintf("results[%d].result", i), resultOf(tree, i)); err != nil {
				return nil, err
			}
		}
		byTask[r.Task] = r
	}
	return byTask, nil
}

// judge turns a session's checked results into its report, judged by the
// session's plan exactly as the CLI judges its own measurements, and into
// the row the store keeps.
func judge(s *session, in *posted, byTask map[int]postedTask, now time.Time) (report.Report, store.Result, error) {
	ua := browser.ParseUserAgent(in.UserAgent)
	who := probes.Evidence{Name: "browser", Value: "the user's " + uaName(ua)}
	measured := make([]checks.Measured, len(s.jobs))
	for i, j := range s.jobs {
		var call browser.CallStats
		if peer := s.takePeer(i); peer != nil {
			call = peer.Stats()
			peer.Close()
		}
		r, ok := byTask[i]
		var m probes.Measurement
		if ok {
			m = j.Check.Remote.Measure(j.Subject, s.plan, browser.PageResult{OK: r.OK, Result: r.Result, Error: r.Error}, call)
		} else {
			m = probes.Failed(errNotRun)
		}
		m.Evidence = append(m.Evidence, who)
		measured[i] = checks.Measured{Check: j.Check, Subject: j.Subject, Measurement: m, Took: time.Duration(r.MS * float64(time.Millisecond))}
	}
	env := report.Environment{OS: ua.OS, Browser: ua.String(), Client: storedAddr(s.client, s.st.fullAddress)}
	rep := s.st.run.Judge(measured, s.created, now.Sub(s.created), env)
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, rep); err != nil {
		return report.Report{}, store.Result{}, err
	}
	row := store.Result{ID: rand.Text(), Created: now, Verdict: string(rep.Summary().Status), Browser: env.Browser, OS: env.OS,
		Client: env.Client, Report: buf.Bytes()}
	row.Checks = store.ChecksOf(row.Report)
	return rep, row, nil
}

func uaName(ua browser.UserAgent) string {
	name := ua.String()
	if name == "" {
		name = "browser (not recognised)"
	}
	if ua.OS != "" {
		name += " on " + ua.OS
	}
	return name
}
