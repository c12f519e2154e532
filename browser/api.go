package browser

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/rtcprobe/rtcprobe/probes"
)

// APIFeatures are the WebRTC APIs browser.api looks for, as metric names
// (1 present, 0 missing).
var APIFeatures = []string{"peerconnection", "getusermedia", "datachannel", "enumeratedevices",
	"getdisplaymedia", "getcapabilities", "encoded_transforms", "getstats"}

// API measures which WebRTC APIs the page sees, and the browser version.
func API(ctx context.Context, b *Browser) probes.Measurement {
	var res struct {
		UserAgent     string          `json:"userAgent"`
		SecureContext bool            `json:"secureContext"`
		Features      map[string]bool `json:"features"`
	}
	ev, err := b.call(ctx, "api", nil, &res, permissionDefault)
	m := probes.Measurement{Evidence: b.identity()}
	m.Evidence = append(m.Evidence, ev...)
	if err != nil {
		m.Err = err
		return m
	}
	missing := 0
	for _, f := range APIFeatures {
		m.SetMetric(f, boolMetric(res.Features[f]))
		if !res.Features[f] {
			missing++
			m.AddEvidence("missing", f)
		}
	}
	m.SetMetric("missing_apis", float64(missing))
	m.SetMetric("secure_context", boolMetric(res.SecureContext))
	if major := majorVersion(b.version); major > 0 {
		m.SetMetric("version_major", float64(major))
		m.SetMetric("outdated_versions", float64(OutdatedBy(b.engine, major)))
		m.AddEvidence("support window", fmt.Sprintf("%s %d and later (this rtcprobe was tested with %d)", b.engine, MinSupported[b.engine],
			map[Engine]int{Chromium: TestedChromium, Firefox: TestedFirefox}[b.engine]))
	}
	m.AddEvidence("user_agent", res.UserAgent)
	return m
}

// withContext appends the page's console lines and the browser's identity
// to a check's own evidence, which comes first (the report shows the first
// item).
func (b *Browser) withContext(own, console []probes.Evidence) []probes.Evidence {
	return append(append(own, console...), b.identity()...)
}

// identity is the evidence naming the browser every check ran in.
func (b *Browser) identity() []probes.Evidence {
	return []probes.Evidence{{Name: "browser", Value: b.version + " (" + b.path + ", " + string(b.cfg.Media) + " media)"}}
}

// majorVersion reads 156 from "HeadlessChrome/156.0.8078.79".
func majorVersion(product string) int {
	_, v, ok := strings.Cut(product, "/")
	if !ok {
		return 0
	}
	major, _, _ := strings.Cut(v, ".")
	n, _ := strconv.Atoi(major)
	return n
}

func boolMetric(v bool) float64 {
	if v {
		return 1
	}
	return 0
}
