package checks

import (
	"regexp"
	"strconv"
	"strings"
)

// advisory is a published vulnerability of a TURN server and the first
// release that fixes it.
type advisory struct {
	server string // as its SOFTWARE attribute names it, lower case
	fixed  string
	id     string
	what   string
}

// advisories is deliberately short: each entry is checked against the
// project's own record (coturn's ChangeLog, its GitHub security
// advisories) and the CVE entry, and lists the release that fixes it.
// A SOFTWARE version says what was built, not what a distribution
// patched since, so a match is a reason to look, not proof.
var advisories = []advisory{
	{server: "coturn", fixed: "4.5.1.2", id: "CVE-2020-6061",
		what: "out-of-bounds read in the web admin's HTTP server (TALOS-2020-0984; with web-admin on)"},
	{server: "coturn", fixed: "4.5.1.3", id: "CVE-2020-4067",
		what: "STUN responses could carry uninitialised memory (GHSA-c8r8-8vp5-6gcm)"},
	{server: "coturn", fixed: "4.5.2", id: "CVE-2020-26262",
		what: "peers 0.0.0.0, [::1] and [::] got past the loopback filter (GHSA-6g6j-r9rf-cm7p)"},
	{server: "coturn", fixed: "4.9.0", id: "CVE-2026-27624",
		what: "IPv4-mapped IPv6 peers (::ffff:127.0.0.1) got past the loopback filter (GHSA-j8mm-mpf8-gvjg)"},
	{server: "coturn", fixed: "4.10.0", id: "CVE-2026-40613",
		what: "a crafted STUN message crashes the server on ARM64"},
}

// softwareVersion reads a server name and version from a SOFTWARE
// attribute: "Coturn-4.6.1 'Gorst'" → coturn, 4.6.1.
var softwareVersion = regexp.MustCompile(`(?i)\b(coturn)[-/ ]v?(\d+(?:\.\d+){1,3})`)

// parseSoftware returns the server (lower case) and version a SOFTWARE
// attribute names, if it names one.
func parseSoftware(s string) (server, version string, ok bool) {
	m := softwareVersion.FindStringSubmatch(s)
	if m == nil {
		return "", "", false
	}
	return strings.ToLower(m[1]), m[2], true
}

// advisoriesFor lists the advisories fixed after version.
func advisoriesFor(server, version string) []advisory {
	var out []advisory
	for _, a := range advisories {
		if a.server == server && versionLess(version, a.fixed) {
			out = append(out, a)
		}
	}
	return out
}

// versionLess compares dotted versions number by number (4.5.1.3 <
// 4.5.2; a missing number is 0).
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		x, y := versionPart(as, i), versionPart(bs, i)
		if x != y {
			return x < y
		}
	}
	return false
}

func versionPart(parts []string, i int) int {
	if i >= len(parts) {
		return 0
	}
	n, _ := strconv.Atoi(parts[i])
	return n
}
