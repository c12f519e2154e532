package browser

import (
	"fmt"
	"time"
)

// DOMError is an exception a page check raised, by its DOMException name
// (NotAllowedError, NotFoundError, NotReadableError, OverconstrainedError…)
// so checks can advise on it.
type DOMError struct {
	// Op is what the page was doing, e.g. "getUserMedia(video)".
	Op      string
	Name    string
	Message string
	// Constraint is set for OverconstrainedError.
	Constraint string
}

func (e *DOMError) Error() string {
	msg := fmt.Sprintf("%s failed: %s", e.Op, e.Name)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Constraint != "" {
		msg += " (constraint " + e.Constraint + ")"
	}
	return msg
}

// StepTimeoutError means the browser did not finish a step in time.
type StepTimeoutError struct {
	Stage string
	After time.Duration
}

func (e *StepTimeoutError) Error() string {
	return fmt.Sprintf("browser: %s did not finish in %s", e.Stage, e.After.Round(time.Millisecond))
}

// LaunchError means the browser binary was found but would not start or
// answer the DevTools protocol.
type LaunchError struct {
	Path string
	Err  error
}

func (e *LaunchError) Error() string { return fmt.Sprintf("starting %s: %v", e.Path, e.Err) }
func (e *LaunchError) Unwrap() error { return e.Err }
