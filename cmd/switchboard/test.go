package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
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
	"sync"
	"time"

	"github.com/switchboard-voice/switchboard/internal/replay"
	"github.com/switchboard-voice/switchboard/internal/sipcall"
	"github.com/switchboard-voice/switchboard/ivr"
	"github.com/switchboard-voice/switchboard/media"
	"github.com/switchboard-voice/switchboard/tts"
)

// testCommand replays scenario files through a flow (internal/replay) and
// exits non-zero when any call did not do what its scenario expects.
func testCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: switchboard test [--config FILE] [--backend sphinx|whisper|none] [--junit FILE] [-v] FLOW SCENARIO...")
		fmt.Fprintln(stderr, "       switchboard test --target sip:USER@HOST:PORT [--api http://HOST:PORT] [--parallel N] [--transport udp|tcp] [--record DIR] [--junit FILE] [-v] FLOW SCENARIO...")
		fmt.Fprintln(stderr, "A SCENARIO may be a directory: every *.yaml in it. Scenario format: go doc ./internal/replay")
		fmt.Fprintln(stderr, "With --target each scenario is a real SIP call, in real time, to a running server (go doc ./internal/sipcall);")
		fmt.Fprintln(stderr, "the server runs its own configured flow, which must be FLOW: FLOW only checks the scenarios' node and intent names.")
		fs.PrintDefaults()
	}
	cfgPath := fs.String("config", "", "config file (default configs/switchboard.yaml when it exists)")
	backend := fs.String("backend", "", "speech backend (overrides asr.backend; none: keys only)")
	junit := fs.String("junit", "", "write a JUnit XML report to this file")
	verbose := fs.Bool("v", false, "print each call's path, what was heard and its log")
	var sip sipFlags
	fs.StringVar(&sip.target, "target", "", "place each scenario as a SIP call to this server (sip:USER@HOST:PORT) instead of replaying it")
	fs.StringVar(&sip.api, "api", "", "with --target: the server's HTTP address (http://HOST:PORT) for its call records; wait steps and most expectations need it")
	fs.IntVar(&sip.parallel, "parallel", 4, "with --target: calls at once")
	fs.StringVar(&sip.transport, "transport", "udp", "with --target: SIP transport, udp or tcp")
	fs.StringVar(&sip.record, "record", "", "with --target: write what the server sent to DIR/SCENARIO.wav")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if sip.target == "" {
		var only []string
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "api", "parallel", "transport", "record":
				only = append(only, "--"+f.Name)
			}
		})
		if len(only) > 0 {
			return fmt.Errorf("test: %s only with --target", strings.Join(only, ", "))
		}
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
	if sip.target != "" {
		return testOverSIP(ctx, sip, flow, flowPath, files, prompts, *junit, *verbose, stdout)
	}
	if err := flow.Prepare(ctx, prompts); err != nil {
		return err
	}
	b, err := newRecognizer(cfg.ASR, warn)
	if err != nil {
		return err
	}
	if b.closer != nil {
		defer b.closer.Close()
	}
	rec := b.rec

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

// sipFlags are the options of switchboard test --target.
type sipFlags struct {
	target, api, transport, record string
	parallel                       int
}

// testOverSIP places each scenario as a real SIP call (internal/sipcall),
// up to sip.parallel at once, and prints the reports in the scenarios'
// order as they are ready.
func testOverSIP(ctx context.Context, sip sipFlags, flow *ivr.Flow, flowPath string, files []string,
	prompts ivr.Prompts, junit string, verbose bool, stdout io.Writer) error {
	if sip.parallel < 1 {
		return fmt.Errorf("test: --parallel %d: want at least 1", sip.parallel)
	}
	if sip.record != "" {
		if err := os.MkdirAll(sip.record, 0o755); err != nil {
			return fmt.Errorf("test: --record: %w", err)
		}
	}
	type outcome struct {
		tc     junitCase
		failed bool
		out    string
	}
	results := make([]chan outcome, len(files))
	for i := range results {
		results[i] = make(chan outcome, 1)
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(sip.parallel, len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				tc, failed, out := sipCase(ctx, sip, flow, files[i], prompts, verbose)
				results[i] <- outcome{tc, failed, out}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range files {
			jobs <- i
		}
	}()

	start := time.Now()
	suite := junitSuite{Name: "switchboard test --target " + sip.target + " " + flowPath}
	passed, failed := 0, 0
	for i := range files {
		r := <-results[i]
		fmt.Fprint(stdout, r.out)
		if r.failed {
			failed++
		} else {
			passed++
		}
		suite.Cases = append(suite.Cases, r.tc)
	}
	wg.Wait()
	fmt.Fprintf(stdout, "%d passed, %d failed (%v)\n", passed, failed, time.Since(start).Round(100*time.Millisecond))
	suite.Tests, suite.Failures, suite.Time = len(files), failed, time.Since(start).Seconds()
	if junit != "" {
		if err := writeJUnit(junit, suite); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("test: %d of %d scenarios failed", failed, len(files))
	}
	return nil
}

// sipCase runs one scenario file as a SIP call and returns its JUnit case,
// whether it failed and what to print.
func sipCase(ctx context.Context, sip sipFlags, flow *ivr.Flow, file string, prompts ivr.Prompts, verbose bool) (junitCase, bool, string) {
	id := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	tc := junitCase{Name: id, Class: flow.Name}
	var b strings.Builder
	sc, err := replay.Load(file)
	if err == nil {
		err = sc.CheckFlow(flow)
	}
	if err != nil {
		tc.Failure = &junitFailure{Message: firstLine(err.Error()), Text: err.Error()}
		fmt.Fprintf(&b, "FAIL %s\n%s", id, indent(err.Error(), "    "))
		return tc, true, b.String()
	}
	var callLog bytes.Buffer
	log := slog.New(slog.NewTextHandler(&callLog, &slog.HandlerOptions{ReplaceAttr: dropTime}))
	res := sipcall.Run(ctx, sc, sipcall.Options{
		Target: sip.target, Transport: sip.transport, API: sip.api,
		Prompts: prompts, Logger: log, Keep: sip.record != "",
	})
	rep := &res.Report
	failures := rep.Failures
	if sip.record != "" && len(res.Received) > 0 {
		if err := writeWAV(filepath.Join(sip.record, id+".wav"), res.Received); err != nil {
			failures = append(failures, "record: "+err.Error())
		}
	}
	tc.Name = id + ": " + sc.Name
	tc.Time = rep.Elapsed.Seconds()
	status := "PASS"
	if len(failures) > 0 {
		status = "FAIL"
		tc.Failure = &junitFailure{Message: firstLine(failures[0]), Text: strings.Join(failures, "\n")}
	}
	nodes := "? nodes"
	if res.Record != nil {
		nodes = fmt.Sprintf("%d nodes", len(rep.Result.Path))
	}
	switch {
	case res.Codec == "":
		fmt.Fprintf(&b, "%s %s (no call)\n", status, id)
	case res.Sound == 0:
		fmt.Fprintf(&b, "%s %s (%s, %v call, no prompt heard)\n", status, id, nodes, res.Duration.Round(100*time.Millisecond))
	default:
		fmt.Fprintf(&b, "%s %s (%s, %v call, %v of prompts heard at %.0f dBFS)\n", status, id, nodes,
			res.Duration.Round(100*time.Millisecond), res.Sound.Round(100*time.Millisecond), res.SoundDBFS)
	}
	for _, f := range failures {
		b.WriteString(indent(f, "    "))
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(&b, "    skipped: %s\n", s)
	}
	if verbose {
		fmt.Fprintf(&b, "    %s\n    call-id %s, codec %s, hung up by %s\n", sc.Name, res.CallID, res.Codec, cmp.Or(res.HungUpBy, "nobody"))
		if res.Record != nil {
			fmt.Fprintf(&b, "    path: %s (%s)\n", strings.Join(rep.Result.Path, " > "), rep.Result.Outcome)
			for _, in := range res.Record.Inputs {
				fmt.Fprintf(&b, "    answer: %s %q%q no_match=%t barged_in=%t\n", in.Kind, in.Digits, in.Text, in.NoMatch, in.BargedIn)
			}
		}
		for _, r := range res.Refers {
			fmt.Fprintf(&b, "    refer to %s: %s (notify %d)\n", r.ReferTo, r.Result, r.Notify)
		}
		for _, n := range res.Notes {
			fmt.Fprintf(&b, "    note: %s\n", n)
		}
		b.WriteString(indent(callLog.String(), "    | "))
	}
	tc.Out = callLog.String()
	return tc, len(failures) > 0, b.String()
}

// writeWAV writes 8 kHz mono 16-bit PCM.
func writeWAV(path string, pcm []int16) error {
	const rate = media.SampleRate
	data := make([]byte, 44+2*len(pcm))
	copy(data, "RIFF")
	binary.LittleEndian.PutUint32(data[4:], uint32(36+2*len(pcm)))
	copy(data[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(data[16:], 16)
	binary.LittleEndian.PutUint16(data[20:], 1)
	binary.LittleEndian.PutUint16(data[22:], 1)
	binary.LittleEndian.PutUint32(data[24:], rate)
	binary.LittleEndian.PutUint32(data[28:], rate*2)
	binary.LittleEndian.PutUint16(data[32:], 2)
	binary.LittleEndian.PutUint16(data[34:], 16)
	copy(data[36:], "data")
	binary.LittleEndian.PutUint32(data[40:], uint32(2*len(pcm)))
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(data[44+2*i:], uint16(v))
	}
	return os.WriteFile(path, data, 0o644)
}
