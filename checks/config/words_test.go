package config

import (
	"testing"

	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/probes"
)

// Each front end words a library's reference its own way; one without
// words for it drops a reference standing alone in parentheses and names
// any other in plain words.
func TestWordsSay(t *testing.T) {
	flags := Words(func(key, value string) string {
		if value != "" {
			return "--" + key + " " + value
		}
		return "--" + key
	})
	const (
		alone  = "run fewer checks at once ({option:concurrency})."
		inline = "up to {option:load_calls}; offer it ({option:ws_protocol=janus-protocol}) in Sec-WebSocket-Protocol"
		nested = "(give the private CA's certificate ({option:ca}), or skip verification while testing ({option:insecure}))"
	)
	tests := []struct {
		words    Words
		in, want string
	}{
		{flags, alone, "run fewer checks at once (--concurrency)."},
		{flags, inline, "up to --load_calls; offer it (--ws_protocol janus-protocol) in Sec-WebSocket-Protocol"},
		{ConfigWords, alone, "run fewer checks at once (concurrency)."},
		{ConfigWords, inline, "up to options.load_calls; offer it (options.ws_protocol: janus-protocol) in Sec-WebSocket-Protocol"},
		{ConfigWords, "give the bearer token ({option:whip_token})", "give the bearer token (whip.token)"},
		{ModuleWords, "{option:username} and {option:password}", "credentials.username and credentials.password"},
		{ModuleWords, "give the bearer token ({option:whip_token})", "give the bearer token"},
		{ConfigWords, nested, "(give the private CA's certificate, or skip verification while testing)"},
		{nil, alone, "run fewer checks at once."},
		{nil, inline, "up to the load calls option; offer it in Sec-WebSocket-Protocol"},
		{nil, "{option:turn_ipv6=false} leaves it out", "the turn ipv6 option set to false leaves it out"},
		{nil, "no reference", "no reference"},
	}
	for _, tt := range tests {
		if got := tt.words.Say(tt.in); got != tt.want {
			t.Errorf("Say(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Config and module words name every option of the table by its key.
func TestConfigWordsNameEveryOption(t *testing.T) {
	for _, o := range OptionTable() {
		for _, w := range []Words{ConfigWords, ModuleWords} {
			if got := w(o.Key, ""); got != o.ConfigPath() {
				t.Errorf("%s: %q, want %q", o.Key, got, o.ConfigPath())
			}
		}
	}
}

// Result words what a result says to a person and leaves the diagnosis
// and evidence it was given (shared with other results) as they were.
func TestWordsResult(t *testing.T) {
	d := &result.Diagnosis{Cause: "c {option:turn_ttl}", Candidates: []string{"x ({option:ca})"}, TellApart: "t {option:ws_protocol}", Advice: "a {option:concurrency}"}
	ev := []probes.Evidence{{Name: "tls", Value: "TLS 1.3, chain not verified ({option:insecure})"}}
	r := result.Result{Error: "e {option:whip}", Advice: "{option:stun_count}", Diagnosis: d, Evidence: ev}
	Words(ConfigWords).Result(&r)
	want := result.Diagnosis{Cause: "c servers[].ttl", Candidates: []string{"x"}, TellApart: "t options.ws_protocol", Advice: "a concurrency"}
	if r.Error != "e whip.url" || r.Advice != "options.stun_count" || r.Evidence[0].Value != "TLS 1.3, chain not verified" ||
		r.Diagnosis.Cause != want.Cause || r.Diagnosis.Candidates[0] != want.Candidates[0] || r.Diagnosis.TellApart != want.TellApart || r.Diagnosis.Advice != want.Advice {
		t.Errorf("worded: %+v %+v", r, *r.Diagnosis)
	}
	if d.Cause != "c {option:turn_ttl}" || d.Candidates[0] != "x ({option:ca})" || ev[0].Value != "TLS 1.3, chain not verified ({option:insecure})" {
		t.Errorf("the shared diagnosis or evidence changed: %+v %+v", *d, ev)
	}
}
