package media

import "errors"

// Devices selects what a browser captures from. It is declared here, with
// the clips, so that the options table names it without linking the
// browser driver; the browser package calls it Media.
type Devices string

const (
	// FakeDevices is the browser's synthetic camera and microphone (or
	// the clip files it is given): deterministic, for CI.
	FakeDevices Devices = "fake"
	// RealDevices uses the machine's own camera and microphone, for a
	// pre-call equipment check.
	RealDevices Devices = "real"
)

// ParseDevices validates a --media value.
func ParseDevices(s string) (Devices, error) {
	switch Devices(s) {
	case FakeDevices, RealDevices:
		return Devices(s), nil
	}
	return "", errors.New("want fake or real")
}
