package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/rtcprobe/rtcprobe/internal/input"
	"github.com/rtcprobe/rtcprobe/report"
)

// outputFlags are the report files a run writes besides the table. Each
// takes a path, or - for stdout (then no table is printed).
type outputFlags struct {
	json, junit, html, markdown, stats string
}

// output is one report destination.
type output struct {
	flag  string
	path  *string
	write func(io.Writer, report.Report) error // nil for --stats
}

func (o *outputFlags) list() []output {
	return []output{
		{"json", &o.json, report.WriteJSON},
		{"junit", &o.junit, report.WriteJUnit},
		{"html", &o.html, report.WriteHTML},
		{"markdown", &o.markdown, report.WriteMarkdown},
		{"stats", &o.stats, nil},
	}
}

func (o *outputFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.json, "json", "", "write the JSON report to `FILE` (- for stdout, then no table)")
	fs.StringVar(&o.junit, "junit", "", "write a JUnit XML report to `FILE` (- for stdout)")
	fs.StringVar(&o.html, "html", "", "write a self-contained HTML report with charts to `FILE` (- for stdout)")
	fs.StringVar(&o.markdown, "markdown", "", "write a Markdown summary to `FILE` (e.g. $GITHUB_STEP_SUMMARY; - for stdout)")
	fs.StringVar(&o.stats, "stats", "", "write both peers' full WebRTC stats, sampled every second, to `FILE` (JSON lines; - for stdout)")
}

// check refuses an output flag given an empty path, and two outputs on
// stdout.
func (o *outputFlags) check(given map[string]bool) error {
	toStdout := ""
	for _, out := range o.list() {
		switch {
		case given[out.flag] && *out.path == "":
			return fmt.Errorf("invalid --%s \"\": want a file name, or - for stdout", out.flag)
		case *out.path == "-" && toStdout != "":
			return fmt.Errorf("--%s - and --%s - both ask for stdout: give one of them a file name", toStdout, out.flag)
		case *out.path == "-":
			toStdout = out.flag
		}
	}
	return nil
}

// stdoutTaken reports whether a report goes to stdout instead of the table.
func (o *outputFlags) stdoutTaken() bool {
	for _, out := range o.list() {
		if *out.path == "-" {
			return true
		}
	}
	return false
}

// openFile is one opened destination.
type openFile struct {
	output
	w       io.Writer
	file    *os.File // nil for stdout
	created bool     // the file did not exist before this run
}

// openOutputs opens every destination before anything is probed, so a
// path that cannot be written costs no run: a directory, a missing
// directory, no permission, a full device. The error names the flag.
//
// Nothing is truncated until every destination has opened: a path that is
// refused leaves the files the user had before the run as they were, and
// removes only the files this run created.
func (o *outputFlags) openOutputs(stdout io.Writer) ([]*openFile, error) {
	var opened []*openFile
	fail := func(err error) ([]*openFile, error) {
		for _, f := range opened {
			if f.file != nil {
				_ = f.file.Close()
				if f.created {
					_ = os.Remove(f.file.Name())
				}
			}
		}
		return nil, err
	}
	for _, out := range o.list() {
		switch *out.path {
		case "":
			continue
		case "-":
			opened = append(opened, &openFile{output: out, w: stdout})
			continue
		}
		f, created, err := openKeeping(*out.path)
		if err == nil {
			err = probeWrite(f)
		}
		if err != nil {
			if f != nil {
				_ = f.Close()
				if created {
					_ = os.Remove(f.Name())
				}
			}
			return fail(fmt.Errorf("--%s %s: %w", out.flag, *out.path, input.UnwrapPath(err)))
		}
		opened = append(opened, &openFile{output: out, w: f, file: f, created: created})
	}
	// Every destination is good: now the old reports may go.
	for _, f := range opened {
		if f.file == nil || f.created {
			continue
		}
		if fi, err := f.file.Stat(); err == nil && fi.Mode().IsRegular() {
			if err := f.file.Truncate(0); err != nil {
				return fail(fmt.Errorf("--%s %s: %w", f.flag, *f.path, input.UnwrapPath(err)))
			}
		}
	}
	return opened, nil
}

// openKeeping opens path for writing without truncating it, creating it
// if it does not exist; created says this call made the file.
func openKeeping(path string) (f *os.File, created bool, err error) {
	f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err == nil {
		return f, true, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return nil, false, err
	}
	// It exists (or is a symlink, perhaps dangling: then its target is
	// created, and not removed on failure, since the link is the user's).
	f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	return f, false, err
}

// writeReports writes every report destination; one that fails does not
// stop the others. The errors name their flags.
func writeReports(files []*openFile, rep report.Report) error {
	var errs []error
	for _, f := range files {
		if f.write == nil {
			continue
		}
		bw := bufio.NewWriter(f.w)
		err := f.write(bw, rep)
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", f.flag, input.UnwrapPath(err)))
		}
	}
	return errors.Join(errs...)
}

// closeOutputs closes the files; a close that fails names its flag.
func closeOutputs(files []*openFile) error {
	var errs []error
	for _, f := range files {
		if f.file != nil {
			if err := f.file.Close(); err != nil {
				errs = append(errs, fmt.Errorf("--%s: %w", f.flag, input.UnwrapPath(err)))
			}
		}
	}
	return errors.Join(errs...)
}

// statsSink is the opened --stats destination, or nil.
func statsSink(files []*openFile) io.Writer {
	for _, f := range files {
		if f.flag == "stats" {
			return f.w
		}
	}
	return nil
}
