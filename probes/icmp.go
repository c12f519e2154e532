package probes

import (
	"sync"
	"time"
)

// Hosts rate-limit ICMP errors (Linux: a burst of 6, then one a second
// per peer). When several probes of one run send to a closed UDP port,
// only some are told "port unreachable"; the others hear nothing, and
// would read as a silent drop. So the process remembers which UDP
// addresses refused a probe lately, and a later silence from the same
// address is a refusal whose ICMP was rate-limited.
const refusalMemory = 15 * time.Second

var refusals sync.Map // "host:port" → time.Time of the latest ICMP port unreachable

func noteRefusal(addr string) { refusals.Store(addr, time.Now()) }

// RefusedRecently reports whether addr answered a UDP probe of this
// process with ICMP port unreachable in the last few seconds.
func RefusedRecently(addr string) bool {
	v, ok := refusals.Load(addr)
	return ok && time.Since(v.(time.Time)) < refusalMemory
}

// udpSilence is the error for a UDP target that answered nothing: a
// refusal when the host refused another probe of that address moments
// ago, else a timeout.
func udpSilence(t Target, after time.Duration) error {
	if RefusedRecently(t.Addr()) {
		return &RefusedError{Addr: t.Addr(), Transport: t.Transport, RateLimited: true}
	}
	return &TimeoutError{Addr: t.Addr(), Transport: t.Transport, After: after}
}
