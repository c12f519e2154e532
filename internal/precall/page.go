package precall

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"io/fs"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/rtcprobe/rtcprobe/browser"
	"github.com/rtcprobe/rtcprobe/internal/store"
	"github.com/rtcprobe/rtcprobe/report"
)

//go:embed assets
var assetsFS embed.FS

// Content-Security-Policies. The page runs only its own files (no inline
// script, no eval) and talks only to this server; report pages (the HTML
// writer's inline CSS and SVG) run no script at all.
const (
	pageCSP   = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; media-src 'self' blob: mediastream:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	reportCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

// secure sets the headers every pre-call response carries. A report's
// link is its only key, so no page sends a Referer.
func secure(w http.ResponseWriter, csp string) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Permissions-Policy", "camera=(self), microphone=(self), display-capture=()")
}

// assets the page loads: its own, and the check functions the CLI's
// browser runs too.
var assets = map[string]struct {
	fs   func() fs.FS
	file string
	typ  string
}{
	"support.js":  {ownAssets, "support.js", "text/javascript; charset=utf-8"},
	"precall.js":  {ownAssets, "precall.js", "text/javascript; charset=utf-8"},
	"precall.css": {ownAssets, "precall.css", "text/css; charset=utf-8"},
	"rtcprobe.js": {browser.Pages, "rtcprobe.js", "text/javascript; charset=utf-8"},
}

func ownAssets() fs.FS {
	sub, err := fs.Sub(assetsFS, "assets")
	if err != nil {
		panic(err) // the embedded tree always has assets/
	}
	return sub
}

func (p *Precall) servePage(w http.ResponseWriter, r *http.Request) {
	secure(w, pageCSP)
	if p.state.Load().disabled {
		http.Error(w, "404 the pre-call page is disabled on this server", http.StatusNotFound)
		return
	}
	serveFile(w, r, ownAssets(), "index.html", "text/html; charset=utf-8")
}

func (p *Precall) serveAsset(w http.ResponseWriter, r *http.Request) {
	secure(w, pageCSP)
	a, ok := assets[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	serveFile(w, r, a.fs(), a.file, a.typ)
}

// serveFile serves an embedded file, revalidated on each load (a new
// rtcprobe serves new files at the same name).
func serveFile(w http.ResponseWriter, r *http.Request, fsys fs.FS, name, typ string) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		http.Error(w, "500 missing asset", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}

// idPattern is what report IDs look like (crypto/rand.Text: 26 base32
// characters); anything else is not looked up.
var idPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Z2-7]{26}$`) })

// serveUserReport shows a user the report behind their link.
func (p *Precall) serveUserReport(w http.ResponseWriter, r *http.Request) {
	secure(w, reportCSP)
	w.Header().Set("Cache-Control", "private, no-store")
	p.serveReportHTML(w, r, r.PathValue("id"))
}

// serveReportHTML renders a stored report with the HTML report writer,
// as `rtcprobe --html` does.
func (p *Precall) serveReportHTML(w http.ResponseWriter, r *http.Request, id string) {
	rep, _, err := p.load(r.Context(), id)
	if err != nil {
		p.notFound(w, err)
		return
	}
	var buf bytes.Buffer
	if err := report.WriteHTML(&buf, rep); err != nil {
		http.Error(w, "500 rendering the report failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// load reads a stored result and its report, with the key metrics the
// JSON does not carry filled in from the catalogue.
func (p *Precall) load(ctx context.Context, id string) (report.Report, store.Result, error) {
	if !idPattern().MatchString(id) {
		return report.Report{}, store.Result{}, store.ErrNotFound
	}
	row, err := p.opt.Store.Get(ctx, id)
	if err != nil {
		return report.Report{}, store.Result{}, err
	}
	rep, err := report.ReadJSON(bytes.NewReader(row.Report))
	if err != nil {
		return report.Report{}, store.Result{}, err
	}
	byID := map[string]int{}
	for i, c := range p.opt.Catalog {
		byID[c.ID] = i
	}
	for i := range rep.Results {
		if j, ok := byID[rep.Results[i].CheckID]; ok {
			rep.Results[i].KeyMetrics = p.opt.Catalog[j].KeyMetrics(rep.Results[i].Metrics)
		}
	}
	return rep, row, nil
}

func (p *Precall) notFound(w http.ResponseWriter, err error) {
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "404 no such report (the link is wrong, or the report has expired)", http.StatusNotFound)
		return
	}
	problem := store.Problem(err)
	p.log.Error("pre-call: reading a result failed", "problem", problem, "err", err)
	if problem != "failing" {
		w.Header().Set("Retry-After", strconv.Itoa(storeRetryAfter))
		http.Error(w, "503 the results database is "+problem+": try again shortly", http.StatusServiceUnavailable)
		return
	}
	http.Error(w, "500 the report could not be read", http.StatusInternalServerError)
}
