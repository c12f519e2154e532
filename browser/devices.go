package browser

import (
	"context"
	"fmt"
	"strings"

	"github.com/rtcprobe/rtcprobe/probes"
)

// DeviceKinds are the device counts browser.devices reports, as metrics.
var DeviceKinds = []string{"audioinput", "videoinput", "audiooutput"}

// DevicesTask is the page check of browser.devices.
func DevicesTask() Task { return Task{Name: PageDevices} }

// Devices lists the media devices (enumerateDevices) with their labels;
// it asks for capture permission once so the labels are visible.
func Devices(ctx context.Context, b *Browser) probes.Measurement {
	return b.measure(ctx, DevicesTask(), b.mediaPermission(), DevicesFrom)
}

// DevicesFrom turns the devices page check's result into browser.devices'
// measurement.
func DevicesFrom(r PageResult) (m probes.Measurement) {
	var res struct {
		Devices []struct {
			Kind  string `json:"kind"`
			Label string `json:"label"`
		} `json:"devices"`
		Counts     map[string]float64 `json:"counts"`
		Permission string             `json:"permission"`
	}
	if m.Err = r.Decode(PageDevices, &res); m.Err != nil {
		return m
	}
	for _, k := range DeviceKinds {
		m.SetMetric(k, res.Counts[k])
		var labels []string
		for _, d := range res.Devices {
			if d.Kind == k {
				labels = append(labels, fmt.Sprintf("%q", d.Label))
			}
		}
		if len(labels) > 0 {
			m.AddEvidence(k, strings.Join(labels, ", "))
		}
	}
	if res.Permission != "granted" {
		m.AddEvidence("getUserMedia", res.Permission+" (device labels may be hidden)")
	}
	return m
}

// mediaPermission is how tabs that capture get their permission: the
// default browser context has it granted since launch.
func (b *Browser) mediaPermission() permission { return permissionDefault }
