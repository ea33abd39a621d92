package replay

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-voice/switchboard/asr"
	"github.com/switchboard-voice/switchboard/internal/phrase"
	"github.com/switchboard-voice/switchboard/ivr"
)

// Report is what one replayed call did and which expectations it failed.
type Report struct {
	Scenario *Scenario
	Result   ivr.Result
	Heard    []Heard  // every answer the recogniser gave, no-matches included
	Played   []Played // every prompt the flow played
	BargeIn  bool     // the caller's speech stopped a prompt at least once
	Audio    time.Duration
	Elapsed  time.Duration // wall time the replay took
	// Failures are the failed expectations and other reasons the call
	// failed, each a readable line or a few (a diff).
	Failures []string
}

// Passed reports whether the call met every expectation.
func (r *Report) Passed() bool { return len(r.Failures) == 0 }

// Recognised returns the texts of the answers that were recognised (not
// no-matches), in order.
func (r *Report) Recognised() []string {
	var out []string
	for _, h := range r.Heard {
		if !h.NoMatch {
			out = append(out, h.Text)
		}
	}
	return out
}

// Run replays sc through flow (prepared) and checks its expectations. rec
// recognises the caller's speech (nil: keys only); prompts synthesises say
// steps without voice or wpm (tts.Cache over tts.Espeak, normally the
// flow's own); log receives the call's log lines, each with the virtual
// time t (nil discards them). It runs on the calling goroutine, starts no
// other and reads no clock but for Report.Elapsed: with a deterministic
// recogniser the same scenario and flow give the same report every time.
func Run(ctx context.Context, flow *ivr.Flow, sc *Scenario, rec asr.Recognizer, prompts ivr.Prompts, log *slog.Logger) Report {
	start := time.Now()
	rep := Report{Scenario: sc}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clips, err := render(ctx, sc.Steps, prompts)
	if err != nil {
		rep.Failures = append(rep.Failures, fmt.Sprintf("setup: %v", err))
		rep.Elapsed = time.Since(start)
		return rep
	}
	var s *session
	vlog := slog.New(&clockHandler{next: log.Handler(), clock: func() time.Duration { return s.clock() }})
	s = newSession(sc, rec, clips, vlog.With("call_id", "replay-"+strings.ReplaceAll(sc.Name, " ", "-")))
	rep.Result = ivr.NewEngine(flow, s.log).OnNode(s.enter).Run(ctx, s)
	rep.Heard, rep.Played = s.heard, s.played
	for _, h := range s.heard {
		rep.BargeIn = rep.BargeIn || h.BargedIn
	}
	rep.Audio = s.clock()
	rep.Failures = check(sc, &rep, s)
	rep.Elapsed = time.Since(start)
	return rep
}

// check compares the call with the expectations.
func check(sc *Scenario, rep *Report, s *session) []string {
	var fails []string
	failf := func(format string, args ...any) { fails = append(fails, fmt.Sprintf(format, args...)) }
	res := &rep.Result
	e := &sc.Expect

	if s.hitLimit {
		failf("the call ran past max_duration (%v of virtual time) at node %s", sc.MaxDuration, s.node)
	} else if res.Outcome == ivr.OutcomeError && e.Outcome != "error" {
		failf("the call ended in an error: %v", res.Err)
	}
	for _, err := range s.asrErrors {
		failf("speech recognition failed: %v", err)
	}
	if e.Nodes != nil && !slices.Equal(e.Nodes, res.Path) {
		fails = append(fails, pathDiff("nodes", e.Nodes, res.Path))
	}
	if e.NodesInclude != nil {
		if i := subsequence(e.NodesInclude, res.Path); i >= 0 {
			failf("nodes_include: want %s in this order, got %s: %s",
				strings.Join(e.NodesInclude, " > "), joinPath(res.Path), missingAfter(e.NodesInclude, i))
		}
	}
	if e.Recognised != nil {
		got := rep.Recognised()
		ok := len(got) == len(e.Recognised)
		for i := 0; ok && i < len(got); i++ {
			ok = phrase.Contains(got[i], e.Recognised[i])
		}
		if !ok {
			failf("recognised: want %s, got %s", quoteList(e.Recognised), heardList(rep.Heard))
		}
	}
	if e.BargeIn != nil && *e.BargeIn != rep.BargeIn {
		if *e.BargeIn {
			failf("barge_in: want the caller's speech to stop a prompt, it never did")
		} else {
			var at []string
			for _, h := range rep.Heard {
				if h.BargedIn {
					at = append(at, fmt.Sprintf("%q at %s (%v)", h.Text, h.Node, h.At))
				}
			}
			failf("barge_in: want no barge-in by speech, got %s", strings.Join(at, ", "))
		}
	}
	if e.Outcome != "" && e.Outcome != res.Outcome.String() {
		msg := fmt.Sprintf("outcome: want %s, got %s", e.Outcome, res.Outcome)
		if res.Err != nil {
			msg += " (" + res.Err.Error() + ")"
		}
		fails = append(fails, msg)
	}
	if e.TransferredTo != "" && e.TransferredTo != res.TransferredTo {
		got := res.TransferredTo
		if got == "" {
			got = "no transfer"
			if n := len(res.Transfers); n > 0 {
				t := res.Transfers[n-1]
				got = fmt.Sprintf("no transfer (last attempt %s: %s %d)", t.Target, t.Outcome, t.Status)
			}
		}
		failf("transferred_to: want %s, got %s", e.TransferredTo, got)
	}
	if e.Intents != nil && !slices.Equal(e.Intents, res.Globals) {
		failf("intents: want %s, got %s", listOrNone(e.Intents), listOrNone(res.Globals))
	}
	if !s.hitLimit {
		var left []string
		for _, st := range sc.Steps[min(s.caller.i, len(sc.Steps)):] {
			if st.Kind != StepSilence {
				left = append(left, fmt.Sprintf("%s (line %d)", st, st.Line))
			}
		}
		if s.caller.i < len(sc.Steps) && s.caller.pos > 0 && sc.Steps[s.caller.i].Kind != StepSilence {
			left = left[1:] // begun, if not finished
		}
		if len(left) > 0 {
			failf("steps: the call ended at %v, at node %s, before the caller got to %s",
				s.clock(), s.node, strings.Join(left, ", "))
		}
	}
	return fails
}

// pathDiff shows two node paths one above the other, aligned, with a
// caret under the first node where they part.
func pathDiff(label string, want, got []string) string {
	n := 0
	for n < len(want) && n < len(got) && want[n] == got[n] {
		n++
	}
	w, g := joinPath(want), joinPath(got)
	// The column where the paths part is the same in both lines, since
	// their common prefix is the same text.
	col := 0
	if n > 0 {
		col = len(joinPath(want[:n])) + len(" > ")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: want %s\n%sgot %s\n%s^ ", label, w, strings.Repeat(" ", len(label)+3), g,
		strings.Repeat(" ", len(label)+len(": want ")+col))
	switch {
	case n == len(want):
		fmt.Fprintf(&b, "then %d more node(s)", len(got)-n)
	case n == len(got):
		fmt.Fprintf(&b, "call ended; %s expected", want[n])
	default:
		fmt.Fprintf(&b, "node %d: want %s, got %s", n+1, want[n], got[n])
	}
	return b.String()
}

func joinPath(p []string) string {
	if len(p) == 0 {
		return "(none)"
	}
	return strings.Join(p, " > ")
}

// subsequence returns -1 when want appears in got in order, else the index
// in want of the first node not found.
func subsequence(want, got []string) int {
	i := 0
	for _, g := range got {
		if i < len(want) && want[i] == g {
			i++
		}
	}
	if i == len(want) {
		return -1
	}
	return i
}

func missingAfter(want []string, i int) string {
	if i == 0 {
		return want[0] + " is missing"
	}
	return want[i] + " is missing after " + want[i-1]
}

func quoteList(l []string) string {
	if len(l) == 0 {
		return "nothing"
	}
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

func heardList(hs []Heard) string {
	if len(hs) == 0 {
		return "nothing"
	}
	var q []string
	for _, h := range hs {
		if h.NoMatch {
			q = append(q, fmt.Sprintf("(no match %q at %s)", h.Text, h.Node))
		} else {
			q = append(q, fmt.Sprintf("%q at %s", h.Text, h.Node))
		}
	}
	return strings.Join(q, ", ")
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

// clockHandler adds the virtual time to each record as t.
type clockHandler struct {
	next  slog.Handler
	clock func() time.Duration
}

func (h *clockHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *clockHandler) Handle(ctx context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(slog.String("t", h.clock().String()))
	return h.next.Handle(ctx, r)
}

func (h *clockHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &clockHandler{next: h.next.WithAttrs(as), clock: h.clock}
}

func (h *clockHandler) WithGroup(name string) slog.Handler {
	return &clockHandler{next: h.next.WithGroup(name), clock: h.clock}
}
