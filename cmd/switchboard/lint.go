package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/switchboard-voice/switchboard/ivr"
)

// lintCommand implements "switchboard lint [--strict] FLOW...": it loads
// each flow and checks it with ivr.Lint. Every problem goes to stdout on a
// line of its own, "file:line:col: message" for errors (load errors as
// Load reports them, lint errors the same way, with no prefix) and
// "file:line:col: warning: message" for warnings, so editors and grep pick
// them up; a summary ("2 flows: 1 error, 3 warnings") goes to stderr. It
// returns an error, for a non-zero exit, when a flow has errors, or with
// --strict warnings. Flags come before the flows.
func lintCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: switchboard lint [--strict] FLOW.yaml ...")
		fs.PrintDefaults()
	}
	strict := fs.Bool("strict", false, "fail on warnings too")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("lint: no flow file given")
	}
	var errs, warns int
	for _, path := range fs.Args() {
		f, err := ivr.Load(path)
		if err != nil {
			errs += printLoadError(stdout, err)
			continue
		}
		for _, fd := range ivr.Lint(f) {
			line := fd.String()
			if fd.Severity == ivr.SeverityError {
				errs++
				head := strings.TrimSuffix(line[:len(line)-len(fd.Msg)], "error: ")
				line = head + fd.Msg
			} else {
				warns++
			}
			fmt.Fprintln(stdout, line)
		}
	}
	fmt.Fprintf(stderr, "%s: %s, %s\n", plural(fs.NArg(), "flow"), plural(errs, "error"), plural(warns, "warning"))
	switch {
	case errs > 0:
		return fmt.Errorf("lint: %s", plural(errs, "error"))
	case *strict && warns > 0:
		return fmt.Errorf("lint: %s (--strict)", plural(warns, "warning"))
	}
	return nil
}

// printLoadError prints each problem Load reported on its own line and
// returns how many there were. Load joins its *ivr.Error values, which
// already read "file:line:col: message".
func printLoadError(w io.Writer, err error) int {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	for _, e := range list {
		fmt.Fprintln(w, e)
	}
	return len(list)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
