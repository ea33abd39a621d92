package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/switchboard-voice/switchboard/internal/replay"
	"github.com/switchboard-voice/switchboard/ivr"
	"github.com/switchboard-voice/switchboard/tts"
)

// testCommand replays scenario files through a flow (internal/replay) and
// exits non-zero when any call did not do what its scenario expects.
func testCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: switchboard test [--config FILE] [--backend sphinx|whisper|none] [--junit FILE] [-v] FLOW SCENARIO...")
		fmt.Fprintln(stderr, "A SCENARIO may be a directory: every *.yaml in it. Scenario format: go doc ./internal/replay")
		fs.PrintDefaults()
	}
	cfgPath := fs.String("config", "", "config file (default configs/switchboard.yaml when it exists)")
	backend := fs.String("backend", "", "speech backend (overrides asr.backend; none: keys only)")
	junit := fs.String("junit", "", "write a JUnit XML report to this file")
	verbose := fs.Bool("v", false, "print each call's path, what was heard and its log")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		fs.Usage()
		return errors.New("test: give a flow and at least one scenario")
	}
	files, err := scenarioFiles(fs.Args()[1:])
	if err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *backend != "" {
		cfg.ASR.Backend = *backend
	}
	ctx := context.Background()
	warn := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	flowPath := fs.Arg(0)
	flow, err := ivr.Load(flowPath)
	if err != nil {
		return err
	}
	prompts := tts.NewCache(&tts.Espeak{Voice: cfg.TTS.Voice, Speed: cfg.TTS.Speed})
	if err := flow.Prepare(ctx, prompts); err != nil {
		return err
	}
	rec, closer, err := newRecognizer(cfg.ASR, warn)
	if err != nil {
		return err
	}
	if closer != nil {
		defer closer.Close()
	}

	start := time.Now()
	suite := junitSuite{Name: "switchboard test " + flowPath}
	passed, failed := 0, 0
	for _, file := range files {
		id := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		tc := junitCase{Name: id, Class: flow.Name}
		var failures []string
		var callLog bytes.Buffer
		var rep replay.Report
		sc, err := replay.Load(file)
		if err == nil {
			err = sc.CheckFlow(flow)
		}
		if err != nil {
			failures = []string{err.Error()}
		} else {
			log := slog.New(slog.NewTextHandler(&callLog, &slog.HandlerOptions{ReplaceAttr: dropTime}))
			rep = replay.Run(ctx, flow, sc, rec, prompts, log)
			failures = rep.Failures
			tc.Time = rep.Elapsed.Seconds()
			tc.Name = id + ": " + sc.Name
		}
		status := "PASS"
		if len(failures) > 0 {
			status = "FAIL"
			failed++
			tc.Failure = &junitFailure{Message: firstLine(failures[0]), Text: strings.Join(failures, "\n")}
		} else {
			passed++
		}
		if sc != nil {
			fmt.Fprintf(stdout, "%s %s (%d nodes, %v audio in %v)\n", status, id, len(rep.Result.Path),
				rep.Audio.Round(100*time.Millisecond), rep.Elapsed.Round(time.Millisecond))
		} else {
			fmt.Fprintf(stdout, "%s %s\n", status, id)
		}
		for _, f := range failures {
			fmt.Fprintln(stdout, indent(f, "    "))
		}
		if *verbose && sc != nil {
			fmt.Fprintf(stdout, "    %s\n    path: %s (%s)\n", sc.Name, strings.Join(rep.Result.Path, " > "), rep.Result.Outcome)
			for _, h := range rep.Heard {
				what := "recognised"
				if h.NoMatch {
					what = "no match"
				}
				fmt.Fprintf(stdout, "    heard at %s, %v: %q (%s, confidence %.2f, barge-in %t)\n", h.Node, h.At, h.Text, what, h.Confidence, h.BargedIn)
			}
			fmt.Fprint(stdout, indent(callLog.String(), "    | "))
		}
		tc.Out = callLog.String()
		suite.Cases = append(suite.Cases, tc)
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", passed, failed)
	suite.Tests, suite.Failures, suite.Time = len(files), failed, time.Since(start).Seconds()
	if *junit != "" {
		if err := writeJUnit(*junit, suite); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("test: %d of %d scenarios failed", failed, len(files))
	}
	return nil
}

// scenarioFiles expands directories into their *.yaml files, sorted.
func scenarioFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("test: %w", err)
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		var found []string
		for _, pat := range []string{"*.yaml", "*.yml"} {
			m, err := filepath.Glob(filepath.Join(a, pat))
			if err != nil {
				return nil, fmt.Errorf("test: %w", err)
			}
			found = append(found, m...)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("test: no *.yaml scenarios in %s", a)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func indent(s, prefix string) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return prefix + strings.Join(lines, "\n"+prefix) + "\n"
}

// The JUnit XML that CI systems read: one testsuite, a testcase per
// scenario, a failure element for each failed one.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     float64     `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name    string        `xml:"name,attr"`
	Class   string        `xml:"classname,attr"`
	Time    float64       `xml:"time,attr"`
	Failure *junitFailure `xml:"failure,omitempty"`
	Out     string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

func writeJUnit(path string, s junitSuite) error {
	b, err := xml.MarshalIndent(junitSuites{Suites: []junitSuite{s}}, "", "  ")
	if err != nil {
		return fmt.Errorf("test: junit: %w", err)
	}
	b = append([]byte(xml.Header), append(b, '\n')...)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("test: junit: %w", err)
	}
	return nil
}
