package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/rtcprobe/rtcprobe/checks/result"
)

// WriteDetails writes every result in words, for a person reading one
// run closely (rtcprobe serve's debug output): status, cause, advice,
// each metric and each piece of evidence. Text from the network is made
// safe as in the table.
func WriteDetails(w io.Writer, r Report) error {
	r = r.clean()
	var b strings.Builder
	for _, res := range r.Results {
		fmt.Fprintf(&b, "%s %s %s (%s)\n", strings.ToUpper(string(res.Status)), res.CheckID, res.Target,
			res.Duration.Round(millisecond(res.Duration)))
		line := func(label, text string) {
			text = strings.ReplaceAll(text, "\n", "\n    ")
			fmt.Fprintf(&b, "  %-9s %s\n", label+":", text)
		}
		if res.Error != "" {
			line("cause", res.Error)
		}
		if res.Advice != "" {
			line("advice", res.Advice)
		}
		names := make([]string, 0, len(res.Metrics))
		for name := range res.Metrics {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			line("metric", fmt.Sprintf("%s = %s", name, result.FormatNumber(res.Metrics[name])))
		}
		for _, e := range res.Evidence {
			line("evidence", e.Name+": "+e.Value)
		}
		for _, o := range res.Observations {
			line("observed", ObservationLine(o))
		}
		b.WriteString("\n")
	}
	b.WriteString(SummaryLine(r) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}
