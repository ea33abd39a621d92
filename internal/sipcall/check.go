package sipcall

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-voice/switchboard/internal/phrase"
	"github.com/switchboard-voice/switchboard/internal/records"
	"github.com/switchboard-voice/switchboard/internal/replay"
	"github.com/switchboard-voice/switchboard/ivr"
)

// check builds the report once the call is over: the server's record
// (with API) or what SIP showed, compared with the scenario's expect.
func (c *call) check(ctx context.Context) {
	rep := &c.res.Report
	if !c.media.Remote.IsValid() {
		return // never answered: the failure says why
	}
	rep.Audio = c.res.Duration
	if c.res.Duration > 2*time.Second && c.res.Heard == 0 {
		c.fail("rtp: no audio from the server in %v", c.res.Duration.Round(100*time.Millisecond))
	}
	stopped := c.watch.stoppedByCaller()
	for _, s := range stopped {
		end := "…"
		if !s.speech.end.IsZero() {
			end = s.speech.end.Sub(c.start).Round(10 * time.Millisecond).String()
		}
		c.res.Notes = append(c.res.Notes, fmt.Sprintf("a prompt stopped at %v while the caller spoke (%v–%s)",
			s.at.Sub(c.start).Round(10*time.Millisecond), s.speech.start.Sub(c.start).Round(10*time.Millisecond), end))
	}
	node := "?"
	if c.api != nil {
		rec, err := c.api.final(ctx, c.res.CallID, cmp.Or(c.opts.RecordWait, DefaultRecordWait))
		if err != nil {
			c.fail("record: %v", err)
		}
		if rec == nil {
			return
		}
		c.res.Record = rec
		rep.Result = resultOf(rec)
		rep.Heard = heardOf(rec)
		for _, h := range rep.Heard {
			rep.BargeIn = rep.BargeIn || h.BargedIn
		}
		if !rep.BargeIn && len(stopped) > 0 && c.sc.Expect.BargeIn != nil {
			c.res.Notes = append(c.res.Notes, "barge_in: no answer in the record is marked barged_in, but the server's prompt stopped while the caller spoke")
		}
		rep.BargeIn = rep.BargeIn || len(stopped) > 0
		if n := len(rec.Path); n > 0 {
			node = rec.Path[n-1]
		}
		c.limitAndSteps(node)
		sc := *c.sc
		if why := unrecorded(sc.Expect.Recognised, rep.Recognised(), rec.Intents); why != "" {
			sc.Expect.Recognised = nil
			c.res.Skipped = append(c.res.Skipped, "recognised ("+why+")")
		}
		rep.Failures = append(rep.Failures, replay.CheckExpect(&sc, rep)...)
		c.checkReferTo()
		return
	}

	// Without the record: only what SIP and the audio show.
	res := ivr.Result{}
	switch c.res.HungUpBy {
	case "caller", "limit":
		res.Outcome = ivr.OutcomeCallerHangup
	case "server":
		res.Outcome = ivr.OutcomeHangup
		for _, r := range c.res.Refers {
			if r.Notify == 200 {
				res.Outcome, res.TransferredTo = ivr.OutcomeTransferred, r.ReferTo
			}
		}
	}
	rep.Result = res
	rep.BargeIn = len(stopped) > 0
	sc := *c.sc
	e := &sc.Expect
	skip := func(name string, why string) {
		c.res.Skipped = append(c.res.Skipped, name+" ("+why+")")
	}
	if e.Nodes != nil {
		e.Nodes = nil
		skip("nodes", "needs --api")
	}
	if e.NodesInclude != nil {
		e.NodesInclude = nil
		skip("nodes_include", "needs --api")
	}
	if e.Recognised != nil {
		e.Recognised = nil
		skip("recognised", "needs --api")
	}
	if e.Intents != nil {
		e.Intents = nil
		skip("intents", "needs --api")
	}
	if e.Outcome == "error" {
		e.Outcome = ""
		skip("outcome", "needs --api: an error looks like a hangup in SIP")
	}
	if e.BargeIn != nil {
		c.res.Notes = append(c.res.Notes, "barge_in: judged from the server's audio alone (a prompt stopping while the caller spoke)")
	}
	c.limitAndSteps(node)
	rep.Failures = append(rep.Failures, replay.CheckExpect(&sc, rep)...)
}

// unrecorded explains why the recognised answers in the record fall short
// of want, when they may only seem to: the record lists the answers to
// asks, not what was said over a say prompt to reach a global intent,
// which shows only among its intents. It returns "" when the record has
// the answers wanted, or cannot explain their lack (a plain failure).
func unrecorded(want, got, intents []string) string {
	if want == nil || len(got) >= len(want) || len(intents) == 0 {
		return ""
	}
	// got must be want with some entries missing, in order.
	var missing []string
	i := 0
	for _, w := range want {
		if i < len(got) && phrase.Contains(got[i], w) {
			i++
			continue
		}
		missing = append(missing, strconv.Quote(w))
	}
	if i < len(got) || len(missing) > len(intents) {
		return ""
	}
	return fmt.Sprintf("the record lacks %s: it keeps ask answers only, and speech over a say prompt that reached a global intent shows only as intents %s",
		strings.Join(missing, ", "), strings.Join(intents, ", "))
}

// limitAndSteps fails a call that ran into max_duration, or ended before
// the caller got to its steps, as replay does.
func (c *call) limitAndSteps(node string) {
	if c.hitLimit {
		c.fail("the call ran past max_duration (%v of real time) at node %s", c.sc.MaxDuration, node)
		return
	}
	if left := c.caller.StepsLeft(); len(left) > 0 {
		c.fail("steps: the call ended at %v, at node %s, before the caller got to %s",
			c.res.Duration.Round(20*time.Millisecond), node, strings.Join(left, ", "))
	}
}

// checkReferTo checks the record's transferred_to against the REFER the
// caller accepted: the server must have sent the caller there.
func (c *call) checkReferTo() {
	want := c.sc.Expect.TransferredTo
	if want == "" {
		return
	}
	var seen []string
	for _, r := range c.res.Refers {
		if r.ReferTo == want && r.Notify == 200 {
			return
		}
		seen = append(seen, fmt.Sprintf("%s (%s)", r.ReferTo, r.Result))
	}
	got := "no REFER"
	if len(seen) > 0 {
		got = "REFERs to " + strings.Join(seen, ", ")
	}
	c.fail("transferred_to: want a REFER to %s accepted by the target, got %s", want, got)
}

// resultOf turns a call record into the flow's result.
func resultOf(rec *records.Record) ivr.Result {
	res := ivr.Result{
		Path:          rec.Path,
		Globals:       rec.Intents,
		TransferredTo: rec.TransferredTo,
	}
	for _, o := range []ivr.Outcome{ivr.OutcomeHangup, ivr.OutcomeCallerHangup, ivr.OutcomeTransferred, ivr.OutcomeError} {
		if o.String() == rec.Outcome {
			res.Outcome = o
		}
	}
	if rec.Error != "" {
		res.Err = errors.New(rec.Error)
	}
	for _, in := range rec.Inputs {
		i := ivr.Input{Digits: in.Digits, Text: in.Text, Confidence: in.Confidence, NoMatch: in.NoMatch, BargedIn: in.BargedIn}
		for _, k := range []ivr.InputKind{ivr.InputNone, ivr.InputDigits, ivr.InputNoInput, ivr.InputSpeech} {
			if k.String() == in.Kind {
				i.Kind = k
			}
		}
		res.Inputs = append(res.Inputs, i)
	}
	for _, t := range rec.Transfers {
		a := ivr.TransferAttempt{Target: t.Target}
		a.Status = t.Status
		for _, o := range []ivr.TransferOutcome{ivr.TransferOK, ivr.TransferFailed, ivr.TransferRejected, ivr.TransferTimeout, ivr.TransferCallerGone} {
			if o.String() == t.Outcome {
				a.Outcome = o
			}
		}
		res.Transfers = append(res.Transfers, a)
	}
	return res
}

// heardOf lists the record's spoken answers as replay's Heard. The record
// does not say at which node each was given.
func heardOf(rec *records.Record) []replay.Heard {
	var out []replay.Heard
	for _, in := range rec.Inputs {
		if in.Kind == ivr.InputSpeech.String() {
			out = append(out, replay.Heard{Node: "an ask", Text: in.Text, Confidence: in.Confidence, NoMatch: in.NoMatch, BargedIn: in.BargedIn})
		}
	}
	return out
}
