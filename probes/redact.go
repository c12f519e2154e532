package probes

import (
	"net/url"
	"strings"
)

// Secrets ride in URIs in three places: userinfo (turn:alice:pw@host,
// http://user:pw@proxy), query values (wss://…/?token=…) and the
// fragment. Nothing rtcprobe prints shows any of them.

// RedactURI is raw, as typed and whether it parses or not, with the
// userinfo replaced by "xxxxx", every query value but transport's by "…"
// (the keys stay, so a message can name the part that is wrong) and the
// fragment by "…".
func RedactURI(raw string) string {
	rest, fragment, hasFragment := strings.Cut(raw, "#")
	rest, query, hasQuery := strings.Cut(rest, "?")
	out := redactUserinfo(rest)
	if hasQuery {
		out += "?" + redactQuery(query)
	}
	if hasFragment && fragment != "" {
		out += "#…"
	} else if hasFragment {
		out += "#"
	}
	return out
}

// redactUserinfo hides what comes before the '@' of the authority:
// "scheme://authority/path" or the opaque "scheme:authority" of RFC 7064
// and RFC 7065 URIs.
func redactUserinfo(s string) string {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		scheme, rest = "", s
	} else {
		scheme += ":"
	}
	if strings.HasPrefix(rest, "//") {
		scheme, rest = scheme+"//", rest[2:]
	}
	authority, path := rest, ""
	if i := strings.Index(rest, "/"); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return s
	}
	return scheme + "xxxxx" + authority[at:] + path
}

func redactQuery(q string) string {
	if q == "" {
		return ""
	}
	parts := strings.Split(q, "&")
	for i, p := range parts {
		if key, value, ok := strings.Cut(p, "="); ok {
			// RFC 7065's one key names a protocol, no secret: an error
			// about it shows the value that was wrong.
			if value != "" && key != "transport" {
				parts[i] = key + "=…"
			}
		} else if p != "" {
			parts[i] = "…"
		}
	}
	return strings.Join(parts, "&")
}

// redactURL is RedactURI for a parsed URL, keeping the username of a
// user:password pair (url.URL.Redacted) since a proxy's user is no secret.
func redactURL(u *url.URL) string {
	c := *u
	c.RawQuery, c.ForceQuery = "", false
	c.Fragment, c.RawFragment = "", ""
	out := c.Redacted()
	if _, hasPassword := u.User.Password(); u.User != nil && !hasPassword {
		out = redactUserinfo(out) // a lone user part may be a token
	}
	if u.RawQuery != "" || u.ForceQuery {
		out += "?" + redactQuery(u.RawQuery)
	}
	if u.Fragment != "" {
		out += "#…"
	}
	return out
}
