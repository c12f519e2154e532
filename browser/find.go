package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// EnvBrowser names the browser binary when --browser is not given.
const EnvBrowser = "RTCPROBE_BROWSER"

// Engine is a browser family rtcprobe can drive: Chrome/Chromium over the
// DevTools protocol, Firefox over WebDriver BiDi.
type Engine string

const (
	Chromium Engine = "chromium"
	Firefox  Engine = "firefox"
)

// candidateNames are the usual binaries of each engine on PATH, in the
// order they are tried.
var candidateNames = map[Engine][]string{
	Chromium: {"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"},
	Firefox:  {"firefox-esr", "firefox"},
}

// InstallHint tells a user how to get a browser the checks can drive.
const InstallHint = "install Chromium (Debian/Ubuntu: apt-get install chromium) or Google Chrome, or point {option:browser} or " + EnvBrowser + " at it"

// FirefoxInstallHint is InstallHint for Firefox.
const FirefoxInstallHint = "install Firefox (Debian/Ubuntu: apt-get install firefox-esr), or point {option:browser} at it"

// HintFor is the install hint for an engine.
func HintFor(e Engine) string {
	if e == Firefox {
		return FirefoxInstallHint
	}
	return InstallHint
}

// NotFoundError means no browser binary was found.
type NotFoundError struct {
	// Engine is what was looked for.
	Engine Engine
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
	what := "Chrome/Chromium"
	if e.Engine == Firefox {
		what = "Firefox"
	}
	return fmt.Sprintf("no %s found (looked for %s)", what, strings.Join(e.Tried, ", "))
}

func (e *NotFoundError) Unwrap() error { return e.Err }

// Find returns the Chrome/Chromium to drive: explicit (from --browser)
// when set, else $RTCPROBE_BROWSER, else the first of the usual names on
// PATH. A path that was named but does not exist or is not executable is
// an error, not a reason to fall back: the user asked for that browser.
func Find(explicit string) (string, error) {
	for _, named := range []string{explicit, os.Getenv(EnvBrowser)} {
		if named == "" {
			continue
		}
		return lookPath(named)
	}
	return findEngine(Chromium)
}

// Locate resolves a browser as --browser and --browsers name it:
// "chromium" (or "chrome") is the first Chrome/Chromium on PATH, "firefox"
// the first Firefox, "" what Find("") finds, and anything else a path or
// a binary name, whose engine is told by its name.
func Locate(spec string) (string, Engine, error) {
	switch strings.ToLower(spec) {
	case "chromium", "chrome":
		p, err := findEngine(Chromium)
		return p, Chromium, err
	case "firefox":
		p, err := findEngine(Firefox)
		return p, Firefox, err
	}
	p, err := Find(spec)
	if err != nil {
		return "", EngineOf(spec), err
	}
	return p, EngineOf(p), nil
}

// EngineOf tells a browser binary's engine by its name: Firefox when the
// name says so, else Chromium.
func EngineOf(path string) Engine {
	if strings.Contains(strings.ToLower(filepath.Base(path)), "firefox") {
		return Firefox
	}
	return Chromium
}

func lookPath(named string) (string, error) {
	p, err := exec.LookPath(named)
	if err != nil {
		return "", &NotFoundError{Engine: EngineOf(named), Explicit: named, Err: err}
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p, nil
}

func findEngine(e Engine) (string, error) {
	for _, name := range candidateNames[e] {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", &NotFoundError{Engine: e, Tried: candidateNames[e], Err: exec.ErrNotFound}
}

// IsNotFound reports whether err means there is no browser to drive.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}

// versionCache keeps what `--version` said per binary (path, size and
// modification time), so a long-running process asks once per upgrade.
var versionCache sync.Map

// ProductOf asks a browser binary its name and version without starting
// it ("Chromium 156.0.8078.108", "Firefox 153.8.0esr"); "" when it does
// not say within five seconds.
func ProductOf(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	key := fmt.Sprintf("%s\x00%d\x00%d", path, fi.Size(), fi.ModTime().UnixNano())
	if v, ok := versionCache.Load(key); ok {
		return v.(string)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "--version")
	cmd.Env = append(os.Environ(), "MOZ_CRASHREPORTER_DISABLE=1")
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	v := parseProduct(string(out))
	if v != "" {
		versionCache.Store(key, v)
	}
	return v
}

// parseProduct reads "Chromium 156.0.8078.108 built on Debian…" or
// "Mozilla Firefox 153.8.0esr" as name and version.
func parseProduct(out string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	fields := strings.Fields(line)
	for i, f := range fields {
		if f != "" && f[0] >= '0' && f[0] <= '9' && strings.Contains(f, ".") && i > 0 {
			name := fields[:i]
			if name[0] == "Mozilla" && len(name) > 1 {
				name = name[1:]
			}
			return sanitizeLabel(strings.Join(name, " ") + " " + f)
		}
	}
	return ""
}

// sanitizeLabel keeps a browser's self-description printable and short:
// it ends up in every report.
func sanitizeLabel(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}
