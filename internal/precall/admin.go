package precall

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/internal/store"
)

// filterError is a bad query parameter of the admin pages and API.
type filterError struct{ param, why string }

func (e *filterError) Error() string { return "parameter " + e.param + ": " + e.why }

var checkIDPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9_-]+\.[a-z0-9_.-]+$`) })

// parseFilter reads the filters: verdict, since, until (RFC 3339 or
// YYYY-MM-DD), browser, failing (a check ID), limit and offset.
func parseFilter(q url.Values, maxLimit int) (store.Filter, error) {
	f := store.Filter{Limit: min(100, maxLimit)}
	if v := q.Get("verdict"); v != "" {
		if !slices.Contains(result.Statuses, result.Status(v)) {
			return f, &filterError{"verdict", "want pass, warn, fail, skip or error"}
		}
		f.Verdict = v
	}
	for _, tc := range []struct {
		name string
		to   *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		v := q.Get(tc.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			if t, err = time.Parse("2006-01-02", v); err != nil {
				return f, &filterError{tc.name, "want a time like 2026-11-30 or 2026-11-30T12:00:00Z"}
			}
		}
		*tc.to = t
	}
	if v := q.Get("browser"); v != "" {
		if len(v) > 100 {
			return f, &filterError{"browser", "at most 100 characters"}
		}
		// SQLite's LIKE ends its pattern at a NUL (browser=%00 matched
		// every result) and PostgreSQL refuses NUL and bad UTF-8 in text;
		// no browser name holds a control character anyway.
		if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
			return f, &filterError{"browser", "no control characters (and valid UTF-8)"}
		}
		f.Browser = v
	}
	if v := q.Get("failing"); v != "" {
		if !checkIDPattern().MatchString(v) {
			return f, &filterError{"failing", "want a check ID such as browser.ice"}
		}
		f.Failing = v
	}
	for _, tc := range []struct {
		name     string
		to       *int
		min, max int
	}{{"limit", &f.Limit, 1, maxLimit}, {"offset", &f.Offset, 0, 1 << 30}} {
		v := q.Get(tc.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < tc.min || n > tc.max {
			return f, &filterError{tc.name, fmt.Sprintf("want a whole number from %d to %d", tc.min, tc.max)}
		}
		*tc.to = n
	}
	return f, nil
}

// listItem is a result in the API's list.
type listItem struct {
	ID      string    `json:"id"`
	Verdict string    `json:"verdict"`
	Browser string    `json:"browser"`
	OS      string    `json:"os"`
	Client  string    `json:"client_address"`
	Created time.Time `json:"created"`
	Failing []string  `json:"failing_checks"`
	Link    string    `json:"link"`
}

func item(r store.Result) listItem {
	return listItem{ID: r.ID, Verdict: r.Verdict, Browser: r.Browser, OS: r.OS, Client: r.Client, Created: r.Created,
		Failing: failingChecks(r.Checks), Link: "/admin/results/" + r.ID}
}

func failingChecks(cs map[string]string) []string {
	out := []string{}
	for id, st := range cs {
		if st == string(result.Fail) || st == string(result.Error) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// list reads the request's filters (at most maxLimit results) and runs
// them, with the reports when withReports; false when it answered with
// why not.
func (p *Precall) list(w http.ResponseWriter, r *http.Request, maxLimit int, withReports bool) ([]store.Result, store.Filter, bool) {
	f, err := parseFilter(r.URL.Query(), maxLimit)
	if err != nil {
		http.Error(w, "400 bad request: "+clean(err.Error(), 300), http.StatusBadRequest)
		return nil, f, false
	}
	f.WithReport = withReports
	rows, err := p.opt.Store.List(r.Context(), f)
	if err != nil {
		p.notFound(w, err)
		return nil, f, false
	}
	return rows, f, true
}

// serveAPIList is GET /api/v1/results: newest first.
func (p *Precall) serveAPIList(w http.ResponseWriter, r *http.Request) {
	rows, _, ok := p.list(w, r, 1000, false)
	if !ok {
		return
	}
	out := struct {
		Results []listItem `json:"results"`
	}{Results: []listItem{}}
	for _, row := range rows {
		out.Results = append(out.Results, item(row))
	}
	writeJSON(w, http.StatusOK, out)
}

// serveAPIResult is GET /api/v1/results/{id}: the stored rtcprobe/v1
// report as it was stored.
func (p *Precall) serveAPIResult(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !idPattern().MatchString(id) {
		p.notFound(w, store.ErrNotFound)
		return
	}
	row, err := p.opt.Store.Get(r.Context(), id)
	if err != nil {
		p.notFound(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(row.Report)
}

func (p *Precall) serveAdminResult(w http.ResponseWriter, r *http.Request) {
	secure(w, reportCSP)
	w.Header().Set("Cache-Control", "no-store")
	p.serveReportHTML(w, r, r.PathValue("id"))
}

// serveExport is /admin/export?format=csv|json plus the filters: every
// result they select (at most 10000), written row by row as the database
// hands them over: an export's memory is one row's, not the export's.
func (p *Precall) serveExport(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		http.Error(w, "400 bad request: parameter format: want json or csv", http.StatusBadRequest)
		return
	}
	f, err := parseFilter(r.URL.Query(), maxExport)
	if err != nil {
		http.Error(w, "400 bad request: "+clean(err.Error(), 300), http.StatusBadRequest)
		return
	}
	if r.URL.Query().Get("limit") == "" {
		f.Limit = maxExport // an export takes everything unless told
	}
	f.WithReport = format != "csv"
	var (
		begin func()
		row   func(store.Result) error
		end   func()
	)
	switch format {
	case "", "json":
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		sep := "["
		begin = func() {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Disposition", `attachment; filename="rtcprobe-precall.json"`)
		}
		row = func(res store.Result) error {
			buf.Reset()
			buf.WriteString(sep)
			sep = ","
			if err := enc.Encode(exportEntry{listItem: item(res), Report: res.Report}); err != nil {
				return err
			}
			_, err := w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
			return err
		}
		end = func() {
			if sep == "[" {
				_, _ = io.WriteString(w, "[")
			}
			_, _ = io.WriteString(w, "]\n")
		}
	case "csv":
		cw := csv.NewWriter(w)
		begin = func() {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="rtcprobe-precall.csv"`)
			_ = cw.Write([]string{"id", "created", "verdict", "browser", "os", "client_address", "failing_checks"})
		}
		row = func(res store.Result) error {
			it := item(res)
			_ = cw.Write([]string{it.ID, it.Created.UTC().Format(time.RFC3339), it.Verdict, cell(it.Browser), cell(it.OS), cell(it.Client),
				strings.Join(it.Failing, " ")})
			cw.Flush()
			return cw.Error()
		}
		end = cw.Flush
	}
	w.Header().Set("Cache-Control", "no-store")
	started := false
	err = p.opt.Store.Each(r.Context(), f, func(res store.Result) error {
		if !started {
			started = true
			begin()
		}
		if err := row(res); err != nil {
			return errClientGone
		}
		return nil
	})
	switch {
	case errors.Is(err, errClientGone):
		return
	case err != nil && !started:
		p.notFound(w, err)
		return
	case err != nil:
		// Rows went out already: the download is cut short rather than
		// ended as if it were whole.
		p.log.Error("pre-call: an export failed midway", "problem", store.Problem(err), "err", err)
		panic(http.ErrAbortHandler)
	}
	if !started {
		begin()
	}
	end()
}

// maxExport bounds the results of one export.
const maxExport = 10000

// errClientGone is an export whose client stopped reading.
var errClientGone = errors.New("the client stopped reading")

// exportEntry is a result in the JSON export: its list item and report.
type exportEntry struct {
	listItem
	Report json.RawMessage `json:"report"`
}

// cell keeps a spreadsheet from reading a value as a formula.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

var adminPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("admin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rtcprobe pre-call results</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid #ddd; }
.pass { color: #17692b; } .warn { color: #8a5a00; } .fail, .error { color: #b00020; } .skip { color: #666; }
form { margin: 1em 0; display: flex; gap: .8em; flex-wrap: wrap; align-items: end; }
label { display: flex; flex-direction: column; font-size: 12px; color: #555; }
</style></head><body>
<h1>Pre-call results</h1>
<form method="get" action="admin">
<label>verdict <select name="verdict"><option value="">any</option>{{range .Verdicts}}<option{{if eq . $.F.Verdict}} selected{{end}}>{{.}}</option>{{end}}</select></label>
<label>since <input name="since" value="{{.Since}}" placeholder="2026-11-01"></label>
<label>until <input name="until" value="{{.Until}}" placeholder="2026-12-01"></label>
<label>browser <input name="browser" value="{{.F.Browser}}" placeholder="Firefox"></label>
<label>failing check <input name="failing" value="{{.F.Failing}}" placeholder="browser.ice"></label>
<button type="submit">Filter</button>
<a href="admin/export?format=csv&amp;{{.Query}}">CSV</a> <a href="admin/export?format=json&amp;{{.Query}}">JSON</a>
</form>
<table><thead><tr><th>created (UTC)</th><th>verdict</th><th>browser</th><th>OS</th><th>client</th><th>failing checks</th></tr></thead><tbody>
{{range .Items}}<tr><td><a href="admin/results/{{.ID}}">{{.Created.UTC.Format "2006-01-02 15:04:05"}}</a></td><td class="{{.Verdict}}">{{.Verdict}}</td><td>{{.Browser}}</td><td>{{.OS}}</td><td>{{.Client}}</td><td>{{range .Failing}}{{.}} {{end}}</td></tr>
{{else}}<tr><td colspan="6">No results{{if .Filtered}} match these filters{{end}}.</td></tr>{{end}}
</tbody></table>
{{if .Next}}<p><a href="admin?{{.Next}}">Older results</a></p>{{end}}
</body></html>
`))
})

// serveAdmin lists results with filters and links to each report and to
// the exports.
func (p *Precall) serveAdmin(w http.ResponseWriter, r *http.Request) {
	secure(w, reportCSP)
	w.Header().Set("Cache-Control", "no-store")
	q := r.URL.Query()
	rows, f, ok := p.list(w, r, 1000, false)
	if !ok {
		return
	}
	page := struct {
		F            store.Filter
		Verdicts     []result.Status
		Since, Until string
		Items        []listItem
		Query        template.URL
		Next         template.URL
		Filtered     bool
	}{F: f, Verdicts: result.Statuses, Since: q.Get("since"), Until: q.Get("until")}
	kept := url.Values{}
	for _, k := range []string{"verdict", "since", "until", "browser", "failing"} {
		if v := q.Get(k); v != "" {
			kept.Set(k, v)
			page.Filtered = true
		}
	}
	page.Query = template.URL(kept.Encode())
	for _, row := range rows {
		page.Items = append(page.Items, item(row))
	}
	if len(rows) == f.Limit {
		next := url.Values{}
		for k, v := range kept {
			next[k] = v
		}
		next.Set("offset", strconv.Itoa(f.Offset+f.Limit))
		page.Next = template.URL(next.Encode())
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = adminPage().Execute(w, page)
}
