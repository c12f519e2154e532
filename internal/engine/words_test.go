package engine_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
	"github.com/rtcprobe/rtcprobe/internal/engine"
	"github.com/rtcprobe/rtcprobe/probes"
	"github.com/rtcprobe/rtcprobe/report"
)

// A run words the checks' references with its front end's Words: a
// module's keys in the exporter, nothing at all on the pre-call page
// (no Words), whose users set nothing.
func TestRunWordsReferences(t *testing.T) {
	s, err := probes.ParseServer("turn:127.0.0.1:3478")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		words     config.Words
		want, not []string
	}{
		{"module", config.ModuleWords, []string{"overloaded (concurrency)", "chain not verified"}, []string{"{option:", "--"}},
		{"page", nil, []string{"overloaded.", "chain not verified"}, []string{"{option:", "--", "concurrency", "insecure"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := engine.Prepare(engine.Input{Servers: []probes.Server{s}, Selection: selection(t, "turn.udp"), External: true, Words: tc.words})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			job := r.Plan.Jobs()[0]
			m := probes.Failed(errors.New("overloaded ({option:concurrency})."))
			m.Evidence = []probes.Evidence{{Name: "tls", Value: "TLS 1.3, chain not verified ({option:insecure})"}}
			rep := r.Judge([]checks.Measured{{Check: job.Check, Subject: job.Subject, Measurement: m}}, time.Now(), time.Second, report.Environment{})
			res := rep.Results[0]
			said := res.Error + " " + res.Advice + " " + res.Evidence[0].Value
			for _, w := range tc.want {
				if !strings.Contains(said, w) {
					t.Errorf("%q lacks %q", said, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(said, n) {
					t.Errorf("%q names %q", said, n)
				}
			}
		})
	}
}
