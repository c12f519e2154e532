package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/checks/config"
)

// cliFlags is every flag name the built binary's usages show: the run's
// (firewall and load take the same), serve's, list's and validate's.
func cliFlags(t *testing.T) map[string]bool {
	t.Helper()
	flags := map[string]bool{}
	name := regexp.MustCompile(`(?m)^  -([a-z][a-z0-9-]*)`)
	for _, args := range [][]string{{"-h"}, {"serve", "-h"}, {"list", "-h"}, {"validate", "-h"}} {
		res := rtcprobe(t, args...)
		for _, m := range name.FindAllStringSubmatch(res.stderr, -1) {
			flags[m[1]] = true
		}
	}
	for _, f := range []string{"insecure", "ca", "concurrency", "whip-token", "browser", "listen"} {
		if !flags[f] {
			t.Fatalf("the usages do not show --%s: flags read %v", f, flags)
		}
	}
	return flags
}

// notOurs are the string literals outside cmd/ (by file and literal)
// that name a flag of the CLI's but mean another program's switch.
var notOurs = map[string]string{
	"browser/find.go:--version":                                           "the browser's own --version",
	"browser/firefox.go:--profile":                                        "Firefox's --profile",
	"checks/diagnosis_table.go:coturn README.turnserver: --realm, --user": "coturn's --user, in a reference to its README",
	"internal/testkit/coturn/coturn.go:--db=":                             "turnserver's --db, for the test server",
	"internal/testkit/coturn/coturn.go:--user=":                           "turnserver's --user, for the test server",
}

// Libraries name options by reference ({option:KEY}) and front ends word
// them (issue #23, structure 6): no string literal outside cmd/ names one
// of the CLI's flags, and every reference names an option or input.
func TestLibrariesNameNoFlag(t *testing.T) {
	flags := cliFlags(t)
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dash := regexp.MustCompile(`(^|[^a-z0-9-])--([a-z][a-z0-9-]*)`)
	ref := regexp.MustCompile(`\{option:([a-z0-9_]+)`)
	keys := config.RefKeys()
	err = filepath.WalkDir(repo, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repo, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "cmd" || strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for _, m := range dash.FindAllStringSubmatch(s, -1) {
				if _, ok := notOurs[rel+":"+s]; flags[m[2]] && !ok {
					t.Errorf("%s: %q names the CLI's --%s: refer to the option ({option:KEY}) and let the front end word it", fset.Position(lit.Pos()), s, m[2])
				}
			}
			for _, m := range ref.FindAllStringSubmatch(s, -1) {
				if !slices.Contains(keys, m[1]) {
					t.Errorf("%s: {option:%s} names no option or input", fset.Position(lit.Pos()), m[1])
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The command line has a flag for every option and input a library may
// refer to, so its words never fall back to plain ones.
func TestCLIWordsNameEveryReference(t *testing.T) {
	flags := cliFlags(t)
	for _, k := range config.RefKeys() {
		w := config.FlagWords(k, "")
		if !strings.HasPrefix(w, "--") || !flags[strings.TrimPrefix(w, "--")] {
			t.Errorf("{option:%s} is %q on the command line: want one of its flags", k, w)
		}
	}
}

// The command line words the libraries' references as its flags: in the
// list of checks and options, in -h, and in a config error, which is
// about the file and so names the file's key.
func TestCLINamesFlags(t *testing.T) {
	list := rtcprobe(t, "list")
	help := rtcprobe(t, "-h")
	nothing := rtcprobe(t, "--checks", "whip.publish,interop.call")
	for _, tt := range []struct{ out, want string }{
		{list.stdout, "(--browsers chromium,firefox)"},
		{list.stdout, "(rtcprobe load, --profile load or --checks load)"},
		{list.stdout, "up to --calls)"},
		{help.stderr, "--turn-ipv6=false leaves it out"},
		{help.stderr, "(with --interval)"},
		{nothing.stderr, "whip.publish needs a WHIP URL (--whip)"},
		{nothing.stderr, "interop.call needs two browsers (--browsers chromium,firefox)"},
	} {
		if !strings.Contains(tt.out, tt.want) {
			t.Errorf("output lacks %q:\n%s", tt.want, tt.out)
		}
	}
	for _, out := range []string{list.stdout, help.stderr, nothing.stderr} {
		if strings.Contains(out, "{option:") {
			t.Errorf("a reference is left unworded:\n%s", out)
		}
	}

	file := filepath.Join(t.TempDir(), "rtcprobe.yml")
	if err := os.WriteFile(file, []byte("whip:\n  url: https://u:S3cret@media.example.com/whip\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := rtcprobe(t, "validate", file)
	if res.code != exitUsage || !strings.Contains(res.stderr, "give the bearer token (whip.token)") || strings.Contains(res.stderr, "--whip-token") {
		t.Errorf("validate: exit %d, stderr %q; want exit 2 naming whip.token", res.code, res.stderr)
	}
}
