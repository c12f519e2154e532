package exporter

import (
	"html/template"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/config"
)

// statusPage is /status: the exporter's page (/ is the pre-call page).
var statusPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("status").Funcs(template.FuncMap{
		"checks": func(ps []config.Pattern) string {
			out := ""
			for i, p := range ps {
				if i > 0 {
					out += ", "
				}
				out += string(p)
			}
			return out
		},
		"rules": rulesText,
		"ms":    func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + " ms" },
		"when":  func(t time.Time) string { return t.UTC().Format("15:04:05") },
	}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rtcprobe exporter</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
.ok{color:#070}.bad{color:#b00}code{font-size:90%}</style></head>
<body>
<h1>rtcprobe exporter</h1>
<p>Prometheus scrapes <code>/probe?module=NAME&amp;target=URI</code>; add <code>&amp;debug=true</code> to read a probe in words.
The exporter's own metrics are on <a href="metrics">/metrics</a>. Version {{.Version}}.</p>
<h2>Modules</h2>
{{if .Defaults}}<p>No config: the default modules probe the embedded server only.</p>{{end}}
<table><tr><th>module</th><th>checks</th><th>allowed targets</th><th>max concurrent</th><th>defined at</th><th>description</th></tr>
{{range .Modules}}<tr><td>{{.Name}}</td><td>{{checks .Include}}</td><td>{{rules .AllowedTargets}}</td><td>{{if .MaxConcurrent}}{{.MaxConcurrent}}{{else}}-{{end}}</td><td>{{.Where}}</td><td>{{.Description}}</td></tr>
{{else}}<tr><td colspan="6">No modules configured.</td></tr>{{end}}</table>
<h2>Recent probes</h2>
<table><tr><th>time (UTC)</th><th>module</th><th>target</th><th>result</th><th>took</th><th></th></tr>
{{range .Recent}}<tr><td>{{when .At}}</td><td>{{.Module}}</td><td>{{.Target}}</td>
<td>{{if .Success}}<span class="ok">success</span>{{else}}<span class="bad">failure</span>{{end}}</td><td>{{ms .Took}}</td>
<td><a href="status/probes/{{.ID}}">debug output</a></td></tr>
{{else}}<tr><td colspan="6">No probes yet.</td></tr>{{end}}</table>
</body></html>
`))
})

func (e *Exporter) serveStatus(w http.ResponseWriter, _ *http.Request) {
	st := e.state.Load()
	var mods []*config.Module
	for _, n := range st.names {
		mods = append(mods, st.modules[n].Module)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = statusPage().Execute(w, map[string]any{"Version": e.opt.Version, "Defaults": st.defaults, "Modules": mods, "Recent": e.recent.list()})
}

// serveRecent shows a recent probe's debug output.
func (e *Exporter) serveRecent(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	p := e.recent.get(id)
	if err != nil || p == nil {
		http.Error(w, "404 no such recent probe (only the last ones are kept; see /status)", http.StatusNotFound)
		return
	}
	writeDebug(w, p, probeRegistry(p.Report, p.Success, p.Took))
}
