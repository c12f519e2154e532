package browser

import (
	"context"
	"fmt"

	"github.com/rtcprobe/rtcprobe/probes"
)

// APIFeatures are the WebRTC APIs browser.api looks for, as metric names
// (1 present, 0 missing).
var APIFeatures = []string{"peerconnection", "getusermedia", "datachannel", "enumeratedevices",
	"getdisplaymedia", "getcapabilities", "encoded_transforms", "getstats"}

// APITask is the page check of browser.api.
func APITask() Task { return Task{Name: PageAPI} }

// API measures which WebRTC APIs the page sees, and the browser version.
func API(ctx context.Context, b *Browser) probes.Measurement {
	res, ev, err := b.run(ctx, APITask(), permissionDefault)
	if err != nil {
		m := probes.Failed(err)
		m.Evidence = append(b.identity(), ev...)
		return m
	}
	m := APIFrom(res, b.version)
	m.Evidence = append(append(b.identity(), ev...), m.Evidence...)
	return m
}

// APIFrom turns the api page check's result into browser.api's
// measurement. product is the browser's "Name/version" when the caller
// knows it (DevTools); else the version comes from the user agent.
func APIFrom(r PageResult, product string) (m probes.Measurement) {
	var res struct {
		UserAgent     string          `json:"userAgent"`
		SecureContext bool            `json:"secureContext"`
		Features      map[string]bool `json:"features"`
	}
	if m.Err = r.Decode(PageAPI, &res); m.Err != nil {
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
	ua := ParseUserAgent(res.UserAgent)
	if product != "" {
		ua = ParseUserAgent(product)
	}
	if ua.Major > 0 {
		m.SetMetric("version_major", float64(ua.Major))
		if e, ok := engineOfBrowser(ua.Name); ok {
			m.SetMetric("outdated_versions", float64(OutdatedBy(e, ua.Major)))
			m.AddEvidence("support window", fmt.Sprintf("%s %d and later (this rtcprobe was tested with %d)", e, MinSupported[e],
				map[Engine]int{Chromium: TestedChromium, Firefox: TestedFirefox}[e]))
		}
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

func boolMetric(v bool) float64 {
	if v {
		return 1
	}
	return 0
}
