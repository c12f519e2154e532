package browser

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// EnvBrowser names the browser binary when --browser is not given.
const EnvBrowser = "RTCPROBE_BROWSER"

// candidateNames are the usual Chrome/Chromium binaries on PATH, in the
// order they are tried.
var candidateNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"}

// InstallHint tells a user how to get a browser the checks can drive.
const InstallHint = "install Chromium (Debian/Ubuntu: apt-get install chromium) or Google Chrome, or point --browser / " + EnvBrowser + " at it"

// NotFoundError means no Chrome or Chromium binary was found.
type NotFoundError struct {
	// Tried lists what was looked for, in order.
	Tried []string
	// Explicit is set when the user named a path that does not work.
	Explicit string
	Err      error
}

func (e *NotFoundError) Error() string {
	if e.Explicit != "" {
		return fmt.Sprintf("browser %q not usable: %v", e.Explicit, e.Err)
	}
	return fmt.Sprintf("no Chrome/Chromium found (looked for %s)", strings.Join(e.Tried, ", "))
}

func (e *NotFoundError) Unwrap() error { return e.Err }

// Find returns the browser to drive: explicit (from --browser) when set,
// else $RTCPROBE_BROWSER, else the first of the usual names on PATH. A path
// that was named but does not exist or is not executable is an error, not
// a reason to fall back: the user asked for that browser.
func Find(explicit string) (string, error) {
	for _, named := range []string{explicit, os.Getenv(EnvBrowser)} {
		if named == "" {
			continue
		}
		p, err := exec.LookPath(named)
		if err != nil {
			return "", &NotFoundError{Explicit: named, Err: err}
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		return p, nil
	}
	for _, name := range candidateNames {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", &NotFoundError{Tried: candidateNames, Err: exec.ErrNotFound}
}

// IsNotFound reports whether err means there is no browser to drive.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}
