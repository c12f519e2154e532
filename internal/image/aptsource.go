package image

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// AptSource is a Debian archive: its mirror and suite, and where apt
// finds that release's updates (SUITE-updates, SUITE-security).
type AptSource struct {
	Mirror, Suite string
	Updates       []AptRepo
}

// AptRepo is one suite of one mirror.
type AptRepo struct{ URI, Suite string }

// maxSourcesFile bounds each apt sources file read.
const maxSourcesFile = 1 << 20

// FindAptSource finds the Debian archive apt uses on this machine, in
// aptDir (normally /etc/apt): the first "deb" entry with the main
// component whose suite debootstrap has a script for in scriptsDir
// (normally /usr/share/debootstrap/scripts). That leaves out the other
// suites of the same mirror (bookworm-updates, bookworm-security) and
// third-party repositories; those of the suite's updates are Updates.
// It reads sources.list, then sources.list.d/*.list and *.sources
// (deb822), in the order apt does.
func FindAptSource(aptDir, scriptsDir string) (AptSource, error) {
	var all []aptEntry
	files := []string{filepath.Join(aptDir, "sources.list")}
	d, _ := filepath.Glob(filepath.Join(aptDir, "sources.list.d", "*"))
	slices.Sort(d)
	files = append(files, d...)
	for _, f := range files {
		var entries []aptEntry
		switch {
		case strings.HasSuffix(f, ".list"), f == files[0]:
			b, err := readBounded(f)
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				return AptSource{}, err
			}
			entries = parseOneLine(b)
		case strings.HasSuffix(f, ".sources"):
			b, err := readBounded(f)
			if err != nil {
				return AptSource{}, err
			}
			entries = parseDeb822(b)
		}
		for _, e := range entries {
			if slices.Contains(e.types, "deb") && slices.Contains(e.components, "main") {
				all = append(all, e)
			}
		}
	}
	for _, e := range all {
		for _, uri := range e.uris {
			for _, suite := range e.suites {
				if _, err := os.Stat(filepath.Join(scriptsDir, suite)); err == nil && !strings.ContainsAny(suite, "/") {
					return AptSource{Mirror: uri, Suite: suite, Updates: updates(all, suite)}, nil
				}
			}
		}
	}
	return AptSource{}, fmt.Errorf("no Debian suite debootstrap knows (%s) among the apt sources in %s", scriptsDir, aptDir)
}

// updates are the entries of suite's -updates and -security suites.
func updates(entries []aptEntry, suite string) []AptRepo {
	var out []AptRepo
	for _, e := range entries {
		for _, uri := range e.uris {
			for _, s := range e.suites {
				if s == suite+"-updates" || s == suite+"-security" {
					out = append(out, AptRepo{uri, s})
				}
			}
		}
	}
	return out
}

type aptEntry struct{ types, uris, suites, components []string }

// parseOneLine reads "deb [options] URI SUITE COMPONENT…" lines.
func parseOneLine(b []byte) []aptEntry {
	var out []aptEntry
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) > 1 && strings.HasPrefix(f[1], "[") {
			// Options run to the first field ending in "]".
			i := 1
			for i < len(f) && !strings.HasSuffix(f[i], "]") {
				i++
			}
			f = append(f[:1], f[min(i+1, len(f)):]...)
		}
		if len(f) < 4 {
			continue
		}
		out = append(out, aptEntry{types: f[:1], uris: f[1:2], suites: f[2:3], components: f[3:]})
	}
	return out
}

// parseDeb822 reads deb822 stanzas (Types:, URIs:, Suites:,
// Components:, Enabled:), separated by blank lines.
func parseDeb822(b []byte) []aptEntry {
	var out []aptEntry
	for _, stanza := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n\n") {
		fields := map[string][]string{}
		last := ""
		for _, line := range strings.Split(stanza, "\n") {
			if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
				continue
			}
			if line[0] == ' ' || line[0] == '\t' { // a continuation line
				if last != "" {
					fields[last] = append(fields[last], strings.Fields(line)...)
				}
				continue
			}
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(k))
			fields[last] = strings.Fields(v)
		}
		if e := fields["enabled"]; len(e) == 1 && strings.EqualFold(e[0], "no") {
			continue
		}
		if len(fields["types"]) > 0 {
			out = append(out, aptEntry{fields["types"], fields["uris"], fields["suites"], fields["components"]})
		}
	}
	return out
}

// readBounded reads a sources file, refusing one over maxSourcesFile.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSourcesFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > maxSourcesFile {
		return nil, fmt.Errorf("%s: larger than %d bytes, not an apt sources file", path, maxSourcesFile)
	}
	return b, nil
}
