package serve

import (
	"fmt"
	"net/http"
)

// placeholder is / when no component serves it: where the pre-call page
// goes, a page pointing to the exporter's.
func placeholder(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rtcprobe</title></head>
<body>
<h1>rtcprobe</h1>
<p>The exporter's page is <a href="status">/status</a> (modules, recent probes); Prometheus scrapes
<code>/probe?module=NAME&amp;target=URI</code> and <a href="metrics">/metrics</a>.</p>
</body></html>
`)
}
