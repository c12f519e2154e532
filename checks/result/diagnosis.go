package result

import "strings"

// Diagnosis is what a result's observations say about why it failed: one
// cause when they decide it, or the candidate causes they leave open and
// how to tell them apart. It comes from the diagnosis table (one per
// probe family), never from the wording of an error.
type Diagnosis struct {
	// Rule names the table row that matched.
	Rule string `json:"rule"`
	// Cause is the cause the observations decide; empty when they do not.
	Cause string `json:"cause,omitempty"`
	// Candidates are the causes the observations leave open.
	Candidates []string `json:"candidates,omitempty"`
	// TellApart says what would decide between the candidates.
	TellApart string `json:"tell_apart,omitempty"`
	// Advice is what to do about it.
	Advice string `json:"advice,omitempty"`
	// Refs are the RFC sections or server documentation the row rests on.
	Refs []string `json:"refs,omitempty"`
}

// Decided reports whether the observations named one cause.
func (d Diagnosis) Decided() bool { return d.Cause != "" }

// Text is the diagnosis in words, as the advice a report shows.
func (d Diagnosis) Text() string {
	var parts []string
	if d.Decided() {
		parts = append(parts, sentence(d.Cause))
	} else if len(d.Candidates) > 0 {
		parts = append(parts, "Cannot tell from here: "+strings.Join(d.Candidates, "; or ")+".")
		if d.TellApart != "" {
			parts = append(parts, "To tell them apart, "+strings.TrimSuffix(d.TellApart, ".")+".")
		}
	}
	if d.Advice != "" {
		parts = append(parts, sentence(d.Advice))
	}
	return strings.Join(parts, " ")
}

func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, ")") {
		s += "."
	}
	return s
}
