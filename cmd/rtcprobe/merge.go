package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/result"
	"github.com/rtcprobe/rtcprobe/internal/engine"
	"github.com/rtcprobe/rtcprobe/internal/input"
	"github.com/rtcprobe/rtcprobe/probes"
	"github.com/rtcprobe/rtcprobe/report"
)

const mergeSynopsis = "rtcprobe merge SHARD.json … [--format table|json|junit|html|markdown] [-o FILE]   (one report of an rtcprobe load run's shards)"

// mergeFormats are the writers merge offers, as a run's reports.
var mergeFormats = map[string]func(io.Writer, report.Report) error{
	"json": report.WriteJSON, "junit": report.WriteJUnit, "html": report.WriteHTML, "markdown": report.WriteMarkdown,
}

// mergeCommand reads the JSON reports of a load run's shards and writes
// the fleet's report: totals added, histograms merged, percentiles and
// the verdict computed again. Exit codes as a run's.
func mergeCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rtcprobe merge", flag.ContinueOnError)
	format := fs.String("format", "table", "the report's `FORMAT`: table, json, junit, html or markdown")
	out := fs.String("o", "-", "write the report to `FILE` (- for stdout)")
	noColor := fs.Bool("no-color", false, "no colors in the table")
	var files []string
	for rest := args; ; rest = fs.Args()[1:] {
		// Flags may come before, between or after the files.
		if code, ok := parseSubcommand(fs, mergeSynopsis, rest, stderr); !ok {
			return code
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
	}
	write := mergeFormats[*format]
	if *format == "table" {
		write = func(w io.Writer, r report.Report) error {
			return report.WriteTable(w, r, report.TableOptions{Color: !*noColor && *out == "-" && os.Getenv("NO_COLOR") == "" && isTerminal(stdout)})
		}
	}
	switch {
	case write == nil:
		fmt.Fprintf(stderr, "rtcprobe merge: invalid --format %q: want table, json, junit, html or markdown\n", *format)
		return exitUsage
	case *out == "":
		fmt.Fprintln(stderr, "rtcprobe merge: invalid -o \"\": want a file name, or - for stdout")
		return exitUsage
	case len(files) == 0:
		fmt.Fprintf(stderr, "rtcprobe merge: name the shards' JSON reports (usage: %s)\n", mergeSynopsis)
		return exitUsage
	case len(files) > probes.MaxShards:
		fmt.Fprintf(stderr, "rtcprobe merge: %d reports, at most %d (the most shards a run has)\n", len(files), probes.MaxShards)
		return exitUsage
	}
	rep, err := mergeReports(files)
	if err != nil {
		fmt.Fprintf(stderr, "rtcprobe merge: %v\n", err)
		return exitUsage
	}
	w, closeOut := stdout, func() error { return nil }
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(stderr, "rtcprobe merge: -o: %v\n", input.UnwrapPath(err))
			return exitUsage
		}
		w, closeOut = f, f.Close
	}
	bw := bufio.NewWriter(w)
	err = write(bw, rep)
	err = errors.Join(err, bw.Flush(), closeOut())
	if err != nil {
		fmt.Fprintf(stderr, "rtcprobe merge: writing the report: %v\n", err)
		return exitInternal
	}
	return outcomeExitCode(engine.OutcomeOf(rep))
}

// mergeReports reads the reports and merges their load.turn results;
// every error names the file.
func mergeReports(files []string) (report.Report, error) {
	var (
		reps  []report.Report
		parts [][]result.Result // per server, per file
	)
	for i, name := range files {
		rep, err := readShardReport(name)
		if err != nil {
			return report.Report{}, fmt.Errorf("%s: %w", name, err)
		}
		found, err := checks.LoadParts(rep.Results)
		if err != nil {
			return report.Report{}, fmt.Errorf("%s: %w", name, err)
		}
		if i == 0 {
			parts = make([][]result.Result, len(found))
		}
		if len(found) != len(parts) {
			return report.Report{}, fmt.Errorf("%s: load of %d servers, %s of %d", name, len(found), files[0], len(parts))
		}
		for k, r := range found {
			parts[k] = append(parts[k], r)
		}
		reps = append(reps, rep)
	}
	first := reps[0]
	out := report.Report{Version: version, StartedAt: first.StartedAt, Servers: first.Servers, FailOn: first.FailOn,
		Environment: report.Environment{OS: first.Environment.OS, GoVersion: first.Environment.GoVersion, Profile: first.Environment.Profile}}
	for _, server := range parts {
		merged, err := checks.MergeLoad(server)
		var me *probes.MergeError
		if errors.As(err, &me) && me.Part >= 0 && me.Part < len(files) {
			return report.Report{}, fmt.Errorf("%s: %s (merging with %s)", files[me.Part], me.Why, files[0])
		}
		if err != nil {
			return report.Report{}, err
		}
		out.Results = append(out.Results, merged)
	}
	end := first.StartedAt.Add(first.Duration)
	for _, r := range reps[1:] {
		if r.StartedAt.Before(out.StartedAt) {
			out.StartedAt = r.StartedAt
		}
		if e := r.StartedAt.Add(r.Duration); e.After(end) {
			end = e
		}
	}
	out.Duration = max(0, end.Sub(out.StartedAt))
	return out, nil
}

// readShardReport reads one JSON report: a regular file (a FIFO or a
// device could block or never end) of at most report.MaxJSONBytes, one
// run's (not a repeated run's).
func readShardReport(name string) (report.Report, error) {
	f, err := os.Open(name)
	if err != nil {
		return report.Report{}, input.UnwrapPath(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return report.Report{}, err
	case !fi.Mode().IsRegular():
		return report.Report{}, errors.New("not a regular file")
	case fi.Size() > report.MaxJSONBytes:
		return report.Report{}, fmt.Errorf("%d bytes, more than a report's %d", fi.Size(), report.MaxJSONBytes)
	}
	rep, err := report.ReadJSON(io.LimitReader(f, report.MaxJSONBytes+1))
	if err != nil {
		return report.Report{}, fmt.Errorf("not an rtcprobe JSON report: %w", err)
	}
	if rep.Repeat != nil {
		return report.Report{}, errors.New("a repeated run's report (--repeat, --duration): merge the reports of single load runs")
	}
	return rep, nil
}
