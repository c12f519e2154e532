// Package result is the verdict model the checks produce and the reports,
// the result store and the server read: Status, Result, Threshold,
// Violation, Diagnosis and how numbers print. It is a leaf below checks
// so that what only renders or stores results does not link the
// catalogue, and with it the browser driver.
package result
