package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/result"
)

// The JUnit XML shape most CI systems parse: the common JUnit XSD
// (Jenkins' junit-10.xsd, as read by GitLab, GitHub reporters and
// Surefire). That schema allows <properties> only in a <testsuite>, so
// each (check, target) is a suite of one test case carrying its metrics.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Package    string          `xml:"package,attr"`
	Properties *junitProps     `xml:"properties"`
	Cases      []junitTestcase `xml:"testcase"`
}

type junitProps struct {
	Props []junitProp `xml:"property"`
}

type junitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitTestcase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes one <testcase> per (check, target), named
// "group.name[target]" with classname "rtcprobe.group", each in a
// <testsuite> of the same name whose <properties> are the status, the
// metrics and the run's environment. fail is <failure> (cause and
// advice), error is <error>, skip is <skipped>, and warn is <failure>
// only when the run fails on warnings.
func WriteJUnit(w io.Writer, r Report) error {
	r = r.clean()
	out := junitSuites{Name: "rtcprobe", Time: seconds(r.Duration)}
	stamp := r.StartedAt.UTC().Format("2006-01-02T15:04:05")
	// A repeated run is a suite per check, target and iteration ("#2"),
	// each carrying the check's pass rate and flaps over the whole run.
	rounds, marks := [][]result.Result{r.Results}, []string{""}
	repeated := map[string]RepeatedCheck{}
	if r.Repeat != nil {
		rounds, marks = nil, nil
		for i, it := range r.Repeat.Iterations {
			rounds, marks = append(rounds, it.Results), append(marks, fmt.Sprintf(" #%d", i+1))
		}
		for _, c := range r.Repeat.Checks {
			repeated[c.CheckID+"\x00"+c.Target] = c
		}
	}
	for round, results := range rounds {
		for _, res := range results {
			group, _, _ := strings.Cut(res.CheckID, ".")
			name := fmt.Sprintf("%s[%s]%s", res.CheckID, res.Target, marks[round])
			props := append([]junitProp{{Name: "status", Value: string(res.Status)}}, metricProps(res.Metrics)...)
			if c, ok := repeated[res.CheckID+"\x00"+res.Target]; ok {
				props = append(props, junitProp{Name: "rtcprobe.iteration", Value: strconv.Itoa(round + 1)},
					junitProp{Name: "rtcprobe.pass_rate_pct", Value: result.FormatNumber(c.PassRate(r.failOn()))},
					junitProp{Name: "rtcprobe.flaps", Value: strconv.Itoa(c.Flaps)})
			}
			s := junitSuite{
				Name: name, Tests: 1, Time: seconds(res.Duration), Timestamp: stamp, Package: "rtcprobe." + group,
				Properties: &junitProps{Props: append(props, envProps(r)...)},
			}
			tc := junitTestcase{Name: name, Classname: "rtcprobe." + group, Time: seconds(res.Duration), SystemOut: systemOut(res)}
			msg := &junitMessage{Message: firstLine(res.Error), Type: string(res.Status), Text: causeAndAdvice(res)}
			switch {
			case res.Status == result.Skip:
				tc.Skipped = &junitMessage{Message: res.Error}
				s.Skipped++
			case res.Status == result.Error:
				tc.Error = msg
				s.Errors++
			case r.FailingResult(res):
				tc.Failure = msg
				s.Failures++
			}
			s.Cases = []junitTestcase{tc}
			out.Suites = append(out.Suites, s)
			out.Tests++
			out.Failures += s.Failures
			out.Errors += s.Errors
		}
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// envProps are the run's environment, prefixed "rtcprobe." so they never
// clash with a metric name.
func envProps(r Report) []junitProp {
	var p []junitProp
	add := func(name, v string) {
		if v != "" {
			p = append(p, junitProp{Name: "rtcprobe." + name, Value: v})
		}
	}
	add("version", r.Version)
	add("os", r.Environment.OS)
	add("browser", r.Environment.Browser)
	add("profile", r.Environment.Profile)
	for i, s := range r.Servers {
		add("server."+strconv.Itoa(i), s)
	}
	return p
}

func metricProps(m map[string]float64) []junitProp {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]junitProp, 0, len(names))
	for _, n := range names {
		out = append(out, junitProp{Name: n, Value: strconv.FormatFloat(m[n], 'g', -1, 64)})
	}
	return out
}

func systemOut(res result.Result) string {
	var b strings.Builder
	if res.Status == result.Warn {
		fmt.Fprintf(&b, "WARN: %s\n", causeAndAdvice(res))
	}
	for _, e := range res.Evidence {
		fmt.Fprintf(&b, "%s: %s\n", e.Name, e.Value)
	}
	return b.String()
}

func causeAndAdvice(res result.Result) string {
	if res.Advice == "" {
		return res.Error
	}
	return res.Error + "\n\nAdvice: " + res.Advice
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}
