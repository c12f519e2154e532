package checks

import (
	"github.com/rtcprobe/rtcprobe/probes"
)

// ErrorAdvice says what the observation behind a probe error means, read
// with family f's diagnosis table: the cause (or the candidates) and what
// to do. Empty when the error carries no observation a row fits.
func ErrorAdvice(f Family, err error) string {
	o, ok := probes.ObservationOf(err)
	if !ok {
		return ""
	}
	d, ok := Diagnose(f, []probes.Observation{o})
	if !ok {
		return ""
	}
	return d.Text()
}
