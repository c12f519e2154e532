package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/probes"
)

//go:embed html.tmpl
var htmlSource string

var htmlTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(template.FuncMap{
		"upper": func(s result.Status) string { return strings.ToUpper(string(s)) },
		"dur":   durationText,
		"join":  strings.Join,
	}).Parse(htmlSource))
})

// WriteHTML writes one self-contained page (inline CSS and SVG, nothing
// fetched): the verdict, a row per result with its metrics and advice,
// charts of any time series, and the environment.
func WriteHTML(w io.Writer, r Report) error {
	r = r.clean()
	s := r.Summary()
	page := htmlPage{
		Title:       "rtcprobe report",
		Verdict:     s.Status,
		Failed:      r.RunFails(),
		SummaryLine: SummaryLine(r),
		FailOnWarn:  r.FailOn == result.Warn,
		Environment: environmentRows(r),
		Timeline:    newTimeline(r.Results),
	}
	if !r.StartedAt.IsZero() {
		page.Started = r.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	for _, st := range result.Statuses {
		page.Counts = append(page.Counts, htmlCount{Status: st, N: s.Counts[st]})
	}
	for _, res := range r.Results {
		row := htmlRow{
			Result:  res,
			Key:     splitLines(measured(res)),
			Details: details(res),
			Failing: r.FailingResult(res),
			Charts:  charts(res.Series),
		}
		if res.Status != result.Pass {
			row.Details = res.Error
		}
		for _, o := range res.Observations {
			row.Observed = append(row.Observed, ObservationLine(o))
		}
		for _, name := range slices.Sorted(maps.Keys(res.Metrics)) {
			row.All = append(row.All, FormatMetric(name, res.Metrics[name]))
		}
		page.Rows = append(page.Rows, row)
	}
	if rp := r.Repeat; rp != nil {
		page.RepeatLine = repeatLine(r)
		for _, c := range rp.Checks {
			hr := htmlRepeat{RepeatedCheck: c, PassRate: c.passRateText(r.failOn()),
				Letters: statusLetters(c.Statuses), Spreads: keySpreads(c, 3)}
			// A chart per key metric over the iterations.
			for _, m := range c.KeyMetrics {
				s, ok := c.Metrics[m]
				if !ok || len(s.Values) < 2 {
					continue
				}
				xs := make([]float64, len(s.Values))
				for i := range xs {
					xs[i] = float64(i + 1)
				}
				hr.Charts = append(hr.Charts, lineChart(m, xs, s.Values, "#"))
			}
			page.Repeat = append(page.Repeat, hr)
		}
	}
	return htmlTemplate().Execute(w, page)
}

type htmlPage struct {
	Title       string
	Verdict     result.Status
	Failed      bool
	SummaryLine string
	FailOnWarn  bool
	Started     string
	Counts      []htmlCount
	Rows        []htmlRow
	Timeline    *timeline
	Environment [][2]string
	// Repeat are the checks across a repeated run's iterations.
	Repeat     []htmlRepeat
	RepeatLine string
}

type htmlRepeat struct {
	RepeatedCheck
	PassRate, Letters string
	Spreads           []string
	Charts            []chart
}

type htmlCount struct {
	Status result.Status
	N      int
}

type htmlRow struct {
	result.Result
	Key     []string
	All     []string
	Details string
	// Observed are the observations in words.
	Observed []string
	Failing  bool
	Charts   []chart
}

// chart is one metric of a series drawn as an SVG line chart.
type chart struct {
	Title          string
	Width, Height  int
	Points         string // polyline points
	Dots           []point
	XTicks, YTicks []tick
	Left, Bottom   int
	Right, Top     int
	Last           string // the last value, for the title
}

type point struct {
	X, Y  float64
	Label string
}

type tick struct {
	Pos   float64
	Label string
}

const (
	chartW, chartH = 330, 160
	padL, padR     = 52, 14
	padT, padB     = 12, 30
	maxDots        = 60
)

// charts draws every metric that appears in a series, RTT first, then
// bitrate, loss, jitter and the rest alphabetically.
func charts(series []probes.Sample) []chart {
	if len(series) < 2 {
		return nil
	}
	series = append([]probes.Sample(nil), series...)
	sort.SliceStable(series, func(i, j int) bool { return series[i].At.Before(series[j].At) })
	names := map[string]bool{}
	for _, s := range series {
		for k := range s.Metrics {
			names[k] = true
		}
	}
	order := slices.Sorted(maps.Keys(names))
	rank := func(n string) int {
		for i, p := range []string{"rtt", "bitrate", "loss", "jitter"} {
			if strings.HasPrefix(n, p) {
				return i
			}
		}
		return 9
	}
	sort.SliceStable(order, func(i, j int) bool { return rank(order[i]) < rank(order[j]) })
	t0 := series[0].At
	var out []chart
	for _, name := range order {
		var xs, ys []float64
		for _, s := range series {
			if v, ok := s.Metrics[name]; ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
				xs = append(xs, s.At.Sub(t0).Seconds())
				ys = append(ys, v)
			}
		}
		if len(xs) < 2 {
			continue
		}
		out = append(out, lineChart(name, xs, ys, "s"))
	}
	return out
}

// lineChart draws ys over xs; xUnit labels the x axis ("s" for seconds
// into a sample, "#" for iterations, written before the number).
func lineChart(name string, xs, ys []float64, xUnit string) chart {
	xLabel := func(x float64) string {
		if xUnit == "#" {
			return "#" + result.FormatNumber(x)
		}
		return result.FormatNumber(x) + xUnit
	}
	c := chart{Width: chartW, Height: chartH, Left: padL, Right: chartW - padR, Top: padT, Bottom: chartH - padB}
	label, unit := metricLabel(name)
	c.Title = label
	if unit != "" {
		c.Title += " (" + unit + ")"
	}
	c.Last = result.FormatNumber(ys[len(ys)-1])
	xmax := xs[len(xs)-1]
	if xmax <= 0 {
		xmax = 1
	}
	ymin, ymax := 0.0, 0.0
	for _, y := range ys {
		ymin, ymax = math.Min(ymin, y), math.Max(ymax, y)
	}
	ystep := niceStep(ymax-ymin, 4)
	ymax = math.Ceil(ymax/ystep) * ystep
	ymin = math.Floor(ymin/ystep) * ystep
	if ymax == ymin {
		ymax = ymin + ystep
	}
	px := func(x float64) float64 { return round1(float64(c.Left) + x/xmax*float64(c.Right-c.Left)) }
	py := func(y float64) float64 {
		return round1(float64(c.Bottom) - (y-ymin)/(ymax-ymin)*float64(c.Bottom-c.Top))
	}
	var pts []string
	for i := range xs {
		x, y := px(xs[i]), py(ys[i])
		pts = append(pts, fmt.Sprintf("%g,%g", x, y))
		if len(xs) <= maxDots {
			c.Dots = append(c.Dots, point{X: x, Y: y, Label: fmt.Sprintf("%s: %s", xLabel(xs[i]), result.FormatNumber(ys[i]))})
		}
	}
	c.Points = strings.Join(pts, " ")
	for y := ymin; y <= ymax+ystep/2; y += ystep {
		c.YTicks = append(c.YTicks, tick{Pos: py(y), Label: result.FormatNumber(y)})
	}
	xstep := niceStep(xmax, 5)
	for x := 0.0; x <= xmax+xstep/1e6; x += xstep {
		c.XTicks = append(c.XTicks, tick{Pos: px(x), Label: xLabel(x)})
	}
	return c
}

// niceStep is a 1-2-5 step giving about n intervals over span.
func niceStep(span float64, n int) float64 {
	if span <= 0 {
		return 1
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// metricLabel splits "rtt_ms" into "rtt" and "ms".
func metricLabel(name string) (label, unit string) {
	label = name
	for _, u := range units {
		if strings.HasSuffix(name, u.suffix) {
			label, unit = strings.TrimSuffix(name, u.suffix), u.unit
			break
		}
	}
	return strings.ReplaceAll(label, "_", " "), unit
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// durationText is for the template: "12.3ms".
func durationText(d time.Duration) string { return d.Round(millisecond(d)).String() }
