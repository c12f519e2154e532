package browser

// The support window: browser.api warns about a browser older than the
// oldest major version still supported here. WebRTC interop breaks where
// one side is old (codec profiles, getStats fields, SDP details), and old
// browsers miss security fixes.
//
//   - Chrome/Chromium: the four major versions before the one this
//     rtcprobe was tested with (a major every four weeks, so about four
//     months; Google patches only the newest).
//   - Firefox: the Extended Support Release before the one tested with,
//     and everything since (Mozilla supports the previous ESR for about
//     three months after the next one ships).
const (
	TestedChromium = 156
	TestedFirefox  = 153
)

// MinSupported is the oldest major version inside the support window.
var MinSupported = map[Engine]int{
	Chromium: TestedChromium - 4,
	Firefox:  140, // the ESR before 153
}

// OutdatedBy is how many major versions the browser is below the support
// window (0 inside it, or when the version is unknown).
func OutdatedBy(e Engine, major int) int {
	min, ok := MinSupported[e]
	if !ok || major <= 0 || major >= min {
		return 0
	}
	return min - major
}

// engineOfBrowser is the engine whose support window applies to a browser
// named as ParseUserAgent names it. Edge numbers its majors as Chrome
// does; Opera does not, so it has no window here.
func engineOfBrowser(name string) (Engine, bool) {
	switch name {
	case "Chrome", "Chromium", "HeadlessChrome", "Edge":
		return Chromium, true
	case "Firefox":
		return Firefox, true
	}
	return "", false
}
