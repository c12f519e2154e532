package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/checks/result"
)

// junitShape is the structure of the common JUnit XSD (Jenkins'
// junit-10.xsd, which GitLab, GitHub reporters and Surefire follow):
// which children and attributes each element may have, and which
// attributes it must have. Children there are choices, in any order.
var junitShape = map[string]struct {
	children []string
	attrs    []string
	required []string
}{
	"testsuites": {[]string{"testsuite"}, []string{"name", "time", "tests", "failures", "errors"}, nil},
	"testsuite": {[]string{"testsuite", "properties", "testcase", "system-out", "system-err"},
		[]string{"name", "tests", "failures", "errors", "group", "time", "skipped", "timestamp", "hostname", "id", "package", "file", "log", "url"},
		[]string{"name", "tests", "failures", "errors"}},
	"properties": {[]string{"property"}, nil, nil},
	"property":   {nil, []string{"name", "value"}, []string{"name", "value"}},
	"testcase": {[]string{"skipped", "error", "failure", "rerunFailure", "rerunError", "flakyFailure", "flakyError", "system-out", "system-err"},
		[]string{"name", "time", "classname", "group"}, []string{"name"}},
	"skipped":    {nil, []string{"type", "message"}, nil},
	"error":      {nil, []string{"type", "message"}, nil},
	"failure":    {nil, []string{"type", "message"}, nil},
	"system-out": {nil, nil, nil},
	"system-err": {nil, nil, nil},
}

var xsdDecimal = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`) // stricter than SUREFIRE_TIME
var xsdTimestamp = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$`)

// checkJUnitShape walks the document and rejects elements, attributes and
// values the schema does not allow.
func checkJUnitShape(t *testing.T, data []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			name := el.Name.Local
			shape, ok := junitShape[name]
			if !ok {
				t.Fatalf("element <%s> is not in the JUnit schema", name)
			}
			if len(stack) == 0 && name != "testsuites" {
				t.Fatalf("root is <%s>, want <testsuites>", name)
			}
			if len(stack) > 0 && !slices.Contains(junitShape[stack[len(stack)-1]].children, name) {
				t.Fatalf("<%s> may not contain <%s>", stack[len(stack)-1], name)
			}
			have := map[string]string{}
			for _, a := range el.Attr {
				if !slices.Contains(shape.attrs, a.Name.Local) {
					t.Errorf("<%s> has attribute %q not in the schema", name, a.Name.Local)
				}
				have[a.Name.Local] = a.Value
			}
			for _, r := range shape.required {
				if _, ok := have[r]; !ok {
					t.Errorf("<%s> lacks required attribute %q", name, r)
				}
			}
			for _, a := range []string{"tests", "failures", "errors", "skipped"} {
				if v, ok := have[a]; ok {
					if _, err := strconv.Atoi(v); err != nil {
						t.Errorf("<%s %s=%q> is not an integer", name, a, v)
					}
				}
			}
			if v, ok := have["time"]; ok && !xsdDecimal.MatchString(v) {
				t.Errorf("<%s time=%q> is not a decimal", name, v)
			}
			if v, ok := have["timestamp"]; ok && !xsdTimestamp.MatchString(v) {
				t.Errorf("<%s timestamp=%q> is not an ISO 8601 time without zone", name, v)
			}
			stack = append(stack, name)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
}

type parsedSuites struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Props    []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error   *struct{} `xml:"error"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestJUnit(t *testing.T) {
	for _, failOn := range []result.Status{result.Fail, result.Warn} {
		t.Run("fail-on-"+string(failOn), func(t *testing.T) {
			r := fullFixture()
			r.FailOn = failOn
			var buf bytes.Buffer
			if err := WriteJUnit(&buf, r); err != nil {
				t.Fatal(err)
			}
			checkJUnitShape(t, buf.Bytes())
			var got parsedSuites
			if err := xml.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			wantFailures := 1
			if failOn == result.Warn {
				wantFailures = 2
			}
			if got.Tests != len(r.Results) || got.Failures != wantFailures || got.Errors != 1 {
				t.Errorf("totals tests=%d failures=%d errors=%d, want %d %d 1", got.Tests, got.Failures, got.Errors, len(r.Results), wantFailures)
			}
			names := map[string]bool{}
			sum := 0
			for _, s := range got.Suites {
				n := 0
				for _, c := range s.Cases {
					names[c.Name] = true
					if c.Name != s.Name || !strings.HasPrefix(c.Name, strings.TrimPrefix(c.Classname, "rtcprobe.")+".") {
						t.Errorf("testcase %q (classname %q) in suite %q", c.Name, c.Classname, s.Name)
					}
					if c.Failure != nil || c.Error != nil {
						n++
					}
				}
				if s.Tests != 1 || len(s.Cases) != 1 || n != s.Failures+s.Errors {
					t.Errorf("suite %s counts do not match its testcases", s.Name)
				}
				sum += s.Tests
			}
			if sum != got.Tests {
				t.Errorf("suites hold %d tests, total says %d", sum, got.Tests)
			}
			for _, res := range r.Results {
				if !names[res.CheckID+"["+res.Target+"]"] {
					t.Errorf("no testcase %s[%s]", res.CheckID, res.Target)
				}
			}
			// The failed TURN check carries cause and advice; metrics are properties.
			for _, s := range got.Suites {
				for _, c := range s.Cases {
					if c.Name == "turn.udp[turn:turn.example.com:3478?transport=udp]" {
						if c.Failure == nil || !bytes.Contains([]byte(c.Failure.Text), []byte("Advice: The server wants credentials")) ||
							c.Failure.Message != r.Results[2].Error {
							t.Errorf("failure: %+v", c.Failure)
						}
					}
					if c.Name == "stun.udp[stun:127.0.0.1:3478]" {
						props := map[string]string{}
						for _, p := range s.Props {
							props[p.Name] = p.Value
						}
						if props["rtt_p95_ms"] != "0.34" || props["status"] != "pass" || props["rtcprobe.version"] != "v1.2.3" {
							t.Errorf("metrics, status or environment not in properties: %v", props)
						}
					}
					if c.Name == "stun.tls[(no stuns: server)]" && c.Skipped == nil {
						t.Error("skip is not <skipped>")
					}
				}
			}
		})
	}
}
