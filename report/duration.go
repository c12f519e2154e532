package report

import "time"

// millisecond picks a rounding unit that keeps durations readable.
func millisecond(d time.Duration) time.Duration {
	if d >= time.Second {
		return 10 * time.Millisecond
	}
	return 100 * time.Microsecond
}
