package browser

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rtcprobe/rtcprobe/probes"
)

// Resolutions are the capture sizes browser.resolutions asks for.
var Resolutions = [][2]int{{320, 240}, {640, 480}, {1280, 720}, {1920, 1080}}

// ResolutionMetric names the metric for one size, e.g. "res_1280x720".
func ResolutionMetric(w, h int) string { return fmt.Sprintf("res_%dx%d", w, h) }

// CaptureResolutions asks the camera for each size with exact constraints
// and records which it delivers exactly (1) or not (0).
func CaptureResolutions(ctx context.Context, b *Browser) (m probes.Measurement) {
	var res struct {
		Sizes []struct {
			Width  int    `json:"width"`
			Height int    `json:"height"`
			OK     bool   `json:"ok"`
			Got    []int  `json:"got"`
			Error  string `json:"error"`
			Camera string `json:"camera"`
		} `json:"sizes"`
		Spare string `json:"spare"`
	}
	spare := b.cfg.spareCamera()
	ev, err := b.call(ctx, Task{Name: PageResolutions, Arg: map[string]any{"sizes": Resolutions, "spare": spare}}, &res, b.mediaPermission())
	m = probes.Measurement{}
	defer func() { m.Evidence = b.withContext(m.Evidence, ev) }()
	if err != nil {
		m.Err = err
		return m
	}
	if spare && res.Spare == "" {
		// The other pages may hold the one camera at their own size: what
		// it would deliver here says nothing of the sizes it can give.
		m.Err = errors.New("the browser showed no second synthetic camera for the exact sizes (asked for with --use-fake-device-for-media-stream=device-count=2)")
		return m
	}
	var cameras []string // the cameras that delivered, as the tracks name them
	for _, s := range res.Sizes {
		if s.Camera != "" && !slices.Contains(cameras, s.Camera) {
			cameras = append(cameras, s.Camera)
		}
	}
	if len(cameras) > 0 {
		note := ""
		if spare {
			note = fmt.Sprintf(" (asked for %q, a synthetic camera of its own: the other pages share the first)", res.Spare)
		}
		m.AddEvidence("camera", strings.Join(cameras, ", ")+note)
	}
	ok := 0
	var delivered []string
	defer func() {
		if len(delivered) > 0 {
			m.Evidence = append([]probes.Evidence{{Name: "delivered", Value: strings.Join(delivered, ", ")}}, m.Evidence...)
		}
	}()
	for _, s := range res.Sizes {
		m.SetMetric(ResolutionMetric(s.Width, s.Height), boolMetric(s.OK))
		switch {
		case s.OK:
			ok++
			delivered = append(delivered, fmt.Sprintf("%dx%d", s.Width, s.Height))
		case s.Error != "":
			m.AddEvidence(fmt.Sprintf("%dx%d", s.Width, s.Height), s.Error)
		case len(s.Got) == 2:
			m.AddEvidence(fmt.Sprintf("%dx%d", s.Width, s.Height), fmt.Sprintf("delivered %dx%d instead", s.Got[0], s.Got[1]))
		}
	}
	m.SetMetric("resolutions", float64(ok))
	return m
}
