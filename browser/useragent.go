package browser

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// UserAgent is what a User-Agent string says about the browser and the
// system it runs on, for reports: "Firefox 153.0" on "Linux".
type UserAgent struct {
	Name    string // Chrome, Chromium, Edge, Opera, Firefox, Safari, HeadlessChrome; "" when unknown
	Version string // "153.0"
	Major   int
	OS      string // Windows, macOS, iOS, Android, ChromeOS, Linux; "" when unknown
}

// String is "Firefox 153.0", or "" when the browser is unknown.
func (u UserAgent) String() string {
	if u.Name == "" {
		return ""
	}
	return strings.TrimSpace(u.Name + " " + u.Version)
}

// Tokens in the order that tells browsers apart: Edge and Opera also say
// Chrome, Chrome also says Safari.
var uaBrowsers = []struct{ token, name string }{
	{"Edg/", "Edge"}, {"EdgiOS/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
	{"HeadlessChrome/", "HeadlessChrome"}, {"Chromium/", "Chromium"}, {"CriOS/", "Chrome"}, {"Chrome/", "Chrome"},
	{"Version/", "Safari"},
}

var uaVersion = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+(\.[0-9]+)*`) })

// ParseUserAgent reads the browser and the OS from a User-Agent header
// or navigator.userAgent. Only well-known tokens are read, so what comes
// back is from a short list and never echoes the (untrusted) header.
func ParseUserAgent(ua string) UserAgent {
	var out UserAgent
	for _, b := range uaBrowsers {
		i := strings.Index(ua, b.token)
		if i < 0 {
			continue
		}
		if b.name == "Safari" && !strings.Contains(ua, "Safari/") {
			continue
		}
		v := uaVersion().FindString(ua[i+len(b.token):])
		if v == "" {
			continue
		}
		if len(v) > 20 {
			v = v[:20]
		}
		out.Name, out.Version = b.name, v
		major, _, _ := strings.Cut(v, ".")
		out.Major, _ = strconv.Atoi(major)
		break
	}
	switch {
	case strings.Contains(ua, "Windows"):
		out.OS = "Windows"
	case strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPad"):
		out.OS = "iOS"
	case strings.Contains(ua, "Mac OS X") || strings.Contains(ua, "Macintosh"):
		out.OS = "macOS"
	case strings.Contains(ua, "Android"):
		out.OS = "Android"
	case strings.Contains(ua, "CrOS"):
		out.OS = "ChromeOS"
	case strings.Contains(ua, "Linux") || strings.Contains(ua, "X11"):
		out.OS = "Linux"
	}
	return out
}
