package checks

import (
	"github.com/rtcprobe/rtcprobe/checks/result"
)

// The verdict model lives in package result, below the catalogue, so that
// reports and the store need not link the browser driver. These names
// keep the checks' own code as it reads.
type (
	Status         = result.Status
	Result         = result.Result
	Threshold      = result.Threshold
	ThresholdError = result.ThresholdError
	Violation      = result.Violation
	Diagnosis      = result.Diagnosis
)

// The statuses, from best to worst.
const (
	Pass  = result.Pass
	Skip  = result.Skip
	Warn  = result.Warn
	Fail  = result.Fail
	Error = result.Error
)

var (
	Statuses       = result.Statuses
	Group          = result.Group
	Overall        = result.Overall
	RunFails       = result.RunFails
	ParseThreshold = result.ParseThreshold
	MustThreshold  = result.MustThreshold
	FormatNumber   = result.FormatNumber
)
