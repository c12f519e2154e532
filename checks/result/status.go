package result

// Status is a check's verdict.
type Status string

// Statuses, from best to worst. error is reserved for rtcprobe's own
// faults; a server or network problem is fail.
const (
	Pass  Status = "pass"
	Skip  Status = "skip"
	Warn  Status = "warn"
	Fail  Status = "fail"
	Error Status = "error"
)

// Statuses lists every status in report order.
var Statuses = []Status{Pass, Warn, Fail, Skip, Error}

func (s Status) rank() int {
	switch s {
	case Pass:
		return 0
	case Skip:
		return 1
	case Warn:
		return 2
	case Fail:
		return 3
	case Error:
		return 4
	}
	return -1
}

// Worse reports whether s is a worse verdict than o.
func (s Status) Worse(o Status) bool { return s.rank() > o.rank() }

// Overall is the worst status of the results; skips alone count as pass
// unless every result is skip.
func Overall(results []Result) Status {
	out, allSkip := Pass, len(results) > 0
	for _, r := range results {
		if r.Status != Skip {
			allSkip = false
			if r.Status.Worse(out) {
				out = r.Status
			}
		}
	}
	if allSkip {
		return Skip
	}
	return out
}

// FailsRun reports whether a result of status s fails a run whose worst
// passing status is failOn (warn with --fail-on warn, else fail).
func (s Status) FailsRun(failOn Status) bool {
	switch s {
	case Fail, Error:
		return true
	case Warn:
		return failOn == Warn
	}
	return false
}

// FailsRun reports whether this result fails a run that fails on failOn.
// A warning that only says this machine's CPUs were saturated (the
// figures are its own delays) does not: a busy runner is not a finding
// about the network, and failing the build on it would be a false alarm.
// It stays a warning in every report.
func (r Result) FailsRun(failOn Status) bool {
	return r.Status.FailsRun(failOn) && !(r.Status == Warn && r.HostSaturated)
}

// RunFails reports whether any of results fails the run.
func RunFails(results []Result, failOn Status) bool {
	for _, r := range results {
		if r.FailsRun(failOn) {
			return true
		}
	}
	return false
}
