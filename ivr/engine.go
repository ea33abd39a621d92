package ivr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// MaxTransitions bounds the node transitions of one call. A flow that goes
// round a loop without the caller ending it (goto cycles, or a caller
// pressing "repeat" forever) ends with OutcomeError instead of running on.
const MaxTransitions = 200

// Outcome is how a call's walk through a flow ended.
type Outcome int

// The outcomes. A later version adds OutcomeTransferred.
const (
	OutcomeHangup       Outcome = iota + 1 // the flow ended the call
	OutcomeCallerHangup                    // the caller hung up, or the call's context ended
	OutcomeError                           // a media error, an unprepared flow or the loop guard
	OutcomeTransferred                     // a person took the call
)

func (o Outcome) String() string {
	switch o {
	case OutcomeHangup:
		return "hangup"
	case OutcomeCallerHangup:
		return "caller-hangup"
	case OutcomeError:
		return "error"
	case OutcomeTransferred:
		return "transferred"
	}
	return "unknown"
}

// Result is what happened on one call.
type Result struct {
	Outcome Outcome
	Path    []string // node ids entered, in order (a reprompt is not a new entry)
	// Inputs holds one entry per ask turn, in order: the keys that made the
	// entry (including keys typed ahead during earlier prompts), the words
	// heard, or a no-input; plus a global intent said or keyed over a say
	// node's prompt.
	Inputs []Input
	// Err is why for OutcomeError; for OutcomeCallerHangup caused by the
	// context it is the context's cause; otherwise nil.
	Err error
	// Transfers lists the transfer attempts, in order; TransferredTo is the
	// target that took the call (OutcomeTransferred).
	Transfers     []TransferAttempt
	TransferredTo string
	// Globals lists the global intents the caller used, in order.
	Globals []string
}

// TransferAttempt is one target tried by a transfer node.
type TransferAttempt struct {
	Node, Target string
	TransferResult
}

// Engine walks a prepared flow for one call.
type Engine struct {
	flow   *Flow
	log    *slog.Logger
	http   *http.Client
	onNode func(id string)
}

// OnNode sets a function called as the walk enters each node (replay
// tests use it to let a scripted caller wait for a node).
func (e *Engine) OnNode(fn func(id string)) *Engine {
	e.onNode = fn
	return e
}

// WithHTTPClient sets the client webhook nodes use (default: a client of
// the standard library's defaults; each request is bounded by its node's
// timeout).
func (e *Engine) WithHTTPClient(c *http.Client) *Engine {
	e.http = c
	return e
}

// NewEngine returns an engine for one call. log should already carry the
// call's attributes (call_id, caller); nil discards the logs.
func NewEngine(f *Flow, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{flow: f, log: log, http: http.DefaultClient}
}

// Run walks the flow from its start node until a hangup node (or an ask that
// ran out of retries with nowhere to go) ends the call, the caller hangs up
// (ErrHangup from a Call method, or ctx done), or an error. It calls Hangup
// when the flow ends the call and, best effort, on OutcomeError; never when
// the caller has gone. It runs on the call's own goroutine.
func (e *Engine) Run(ctx context.Context, call Call) Result {
	info := call.Info()
	r := &run{flow: e.flow, log: e.log, call: call, http: e.http, onNode: e.onNode, vars: map[string]string{
		VarCaller: info.Caller, VarCalled: info.Called, VarCallID: info.CallID,
	}}
	err := r.walk(ctx)
	return r.finish(ctx, err)
}

// run is the state of one walk.
type run struct {
	flow *Flow
	log  *slog.Logger
	call Call
	res  Result
	// typed holds keys the caller pressed to stop a prompt and that no ask
	// has consumed yet: the caller typing ahead of the menu.
	typed string
	// heard is an answer the caller spoke over a say node's prompt that
	// matches a choice of the ask that follows: the caller answering ahead.
	heard *Input
	// vars are the call's variables: caller, called, call_id, heard, and
	// what set and webhook nodes stored.
	vars map[string]string
	// failures counts failed turns in a row, at any node, for escalation.
	failures int
	http     *http.Client
	onNode   func(id string)
}

// step is where a node sends the call: the next node, or the end.
type step struct {
	next        string
	hangup      bool // the flow ends the call
	transferred bool // a person took the call
}

// errHangupFailed marks an error from Call.Hangup, after which trying to
// hang up again is pointless.
type errHangupFailed struct{ err error }

func (e errHangupFailed) Error() string { return "ivr: hang up: " + e.err.Error() }
func (e errHangupFailed) Unwrap() error { return e.err }

func (r *run) walk(ctx context.Context) error {
	if !r.flow.prepared {
		return fmt.Errorf("ivr: flow %s is not prepared", r.flow.Path)
	}
	id := r.flow.Start.Node
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(r.res.Path) > MaxTransitions {
			tail := r.res.Path[len(r.res.Path)-6:]
			return fmt.Errorf("ivr: more than %d node transitions, the flow loops (... %s)", MaxTransitions, strings.Join(tail, " > "))
		}
		n := r.flow.Nodes[id]
		r.res.Path = append(r.res.Path, id)
		r.log.Info("node", "node", id, "kind", n.Kind.String())
		if r.onNode != nil {
			r.onNode(id)
		}
		st, err := r.node(ctx, n)
		if err != nil {
			return fmt.Errorf("node %q: %w", id, err)
		}
		if st.transferred {
			return nil
		}
		if st.hangup {
			if err := r.call.Hangup(ctx); err != nil {
				return errHangupFailed{err}
			}
			return nil
		}
		id = st.next
	}
}

// node runs one node. Each kind has its own method; a new kind adds a case.
func (r *run) node(ctx context.Context, n *Node) (step, error) {
	switch n.Kind {
	case KindSay:
		next := r.lookahead(n.Next.Node)
		for {
			in, err := r.play(ctx, n, n.Say, r.speech(n, next))
			if err != nil {
				return step{}, err
			}
			if g := r.typedGlobal(); g != nil {
				in = Input{Kind: InputDigits, Digits: g.Key}
			}
			if g := r.globalFor(in); g != nil {
				// An intent said or keyed over a say node is an answer too.
				r.res.Inputs = append(r.res.Inputs, in)
				if g.Repeat() {
					continue
				}
				if g.HangsUp() {
					return step{hangup: true}, nil
				}
				return step{next: g.Next.Node}, nil
			}
			if in.Kind == InputSpeech {
				r.keepHeard(n, next, in)
			}
			return step{next: n.Next.Node}, nil
		}
	case KindTransfer:
		return r.transfer(ctx, n)
	case KindSet:
		for _, a := range n.Set {
			r.vars[a.Name] = expand(a.Value, r.vars, nil)
			r.log.Info("set", "node", n.ID, "var", a.Name, "value", r.vars[a.Name])
		}
		return step{next: n.Next.Node}, nil
	case KindWebhook:
		return r.webhook(ctx, n)
	case KindAsk:
		return r.ask(ctx, n)
	case KindGoto:
		return step{next: n.Goto.Node}, nil
	case KindHangup:
		if r.typed != "" {
			r.log.Info("typed-ahead keys dropped", "node", n.ID, "digits", r.typed)
			r.typed = ""
		}
		r.heard = nil
		if _, err := r.play(ctx, n, n.Hangup.Say, nil); err != nil {
			return step{}, err
		}
		return step{hangup: true}, nil
	}
	return step{}, fmt.Errorf("ivr: node kind %v not supported", n.Kind)
}

// play plays a prompt (nil: nothing) with the node's barge-in setting,
// listening for speech as sp says (nil: keys only). Keys that stop it are
// kept for the next ask. While such keys are waiting, an interruptible
// prompt is skipped: the caller has already answered ahead. A spoken
// answer is returned.
func (r *run) play(ctx context.Context, n *Node, p *Prompt, sp *Speech) (Input, error) {
	if p == nil {
		return Input{}, nil
	}
	bargeIn := n.BargeIn != BargeInOff
	if bargeIn && (r.typed != "" || r.heard != nil) {
		r.log.Debug("prompt skipped, caller answered ahead", "node", n.ID, "prompt", p.String())
		return Input{}, nil
	}
	audio := p.audio
	if p.templated {
		text := expand(p.Text, r.vars, nil)
		var err error
		if audio, err = r.flow.renderer.Text(ctx, text); err != nil {
			return Input{}, fmt.Errorf("render %s: %w", p, err)
		}
	}
	in, err := r.call.Play(ctx, audio, PlayOptions{DTMFBargeIn: bargeIn, Speech: sp})
	if err != nil {
		return Input{}, fmt.Errorf("play %s: %w", p, err)
	}
	switch {
	case in.Kind == InputDigits && in.Digits != "":
		r.log.Info("barge-in", "node", n.ID, "digits", in.Digits)
		r.typed += in.Digits
		return Input{}, nil
	case in.Kind == InputSpeech:
		r.log.Info("heard", "node", n.ID, "text", in.Text, "confidence", fmt.Sprintf("%.2f", in.Confidence),
			"no_match", in.NoMatch, "barged_in", in.BargedIn)
		if !in.NoMatch {
			r.vars[VarHeard] = in.Text
		}
		return in, nil
	}
	return Input{}, nil
}

// speech is how a node listens: its barge-in mode, and the choices of ask
// (the node itself, or the ask a say node leads to) as expected phrases.
func (r *run) speech(n *Node, ask *Ask) *Speech {
	sp := &Speech{BargeIn: n.BargeIn, Endpoint: "menu", Language: r.flow.Language, Intents: r.intents()}
	if ask != nil {
		sp.Choices = ask.phraseGroups()
		sp.Endpoint = ask.Endpoint
		sp.EndSilence, sp.MaxSpeech = ask.EndSilence, ask.MaxSpeech
	}
	return sp
}

// lookahead returns the ask a say node leads to (through gotos), or nil.
func (r *run) lookahead(id string) *Ask {
	for range 8 {
		n := r.flow.Nodes[id]
		switch {
		case n == nil:
			return nil
		case n.Kind == KindAsk:
			return n.Ask
		case n.Kind == KindGoto:
			id = n.Goto.Node
		default:
			return nil
		}
	}
	return nil
}

// keepHeard keeps an answer spoken over a say node for the ask after it
// when it names one of that ask's choices; anything else is dropped.
func (r *run) keepHeard(n *Node, ask *Ask, in Input) {
	if ask != nil && !in.NoMatch && len(ask.matchSpeech(in.Text)) == 1 {
		r.heard = &in
		return
	}
	r.log.Info("speech over a prompt ignored", "node", n.ID, "text", in.Text)
}

// ask runs an ask node: prompt, collect, route; retries on no-input and
// no-match, each counted separately for this visit of the node.
func (r *run) ask(ctx context.Context, n *Node) (step, error) {
	a := n.Ask
	sp := r.speech(n, a)
	var noInput, noMatch int
	for {
		in, err := r.answer(ctx, n, sp)
		if err != nil {
			return step{}, err
		}
		r.res.Inputs = append(r.res.Inputs, in)
		if in.Kind == InputSpeech && !in.NoMatch {
			r.vars[VarHeard] = in.Text
		}
		attrs := []any{"node", n.ID}
		if in.Kind == InputSpeech {
			attrs = append(attrs, "text", in.Text)
		} else {
			attrs = append(attrs, "digits", in.Digits)
		}
		if g := r.globalFor(in); g != nil {
			r.log.Info("input", append(attrs, "result", "intent", "intent", g.Name)...)
			r.failures = 0
			if g.Repeat() {
				continue
			}
			if g.HangsUp() {
				return step{hangup: true}, nil
			}
			return step{next: g.Next.Node}, nil
		}

		var retry *Retry
		var event string
		var count int
		var chosen *Choice
		switch in.Kind {
		case InputDigits:
			chosen = a.choice(in.Digits)
		case InputSpeech:
			if !in.NoMatch {
				if cs := a.matchSpeech(in.Text); len(cs) == 1 {
					chosen = cs[0]
				}
			}
		}
		if chosen != nil {
			r.failures = 0
			r.log.Info("input", append(attrs, "result", "match", "next", chosen.Next.Node)...)
			if _, err := r.play(ctx, n, chosen.Say, nil); err != nil {
				return step{}, err
			}
			return step{next: chosen.Next.Node}, nil
		}
		if in.Kind == InputNoInput {
			noInput++
			retry, event, count = &a.NoInput, "no-input", noInput
		} else {
			noMatch++
			retry, event, count = &a.NoMatch, "no-match", noMatch
		}
		r.failures++
		r.log.Info("input", append(attrs, "result", event, "count", count, "failures_in_a_row", r.failures)...)
		if e := r.flow.Escalation; e.After > 0 && r.failures >= e.After && e.Next.Node != "" {
			r.log.Info("escalation", "node", n.ID, "failures_in_a_row", r.failures, "next", e.Next.Node)
			r.failures = 0
			if _, err := r.play(ctx, n, e.Say, nil); err != nil {
				return step{}, err
			}
			return step{next: e.Next.Node}, nil
		}
		if _, err := r.play(ctx, n, retry.Say, nil); err != nil {
			return step{}, err
		}
		if count > retry.Reprompt {
			if retry.Then.Node == "" {
				r.log.Info("retries exhausted, hanging up", "node", n.ID, "event", event)
				return step{hangup: true}, nil
			}
			return step{next: retry.Then.Node}, nil
		}
	}
}

// answer gets one answer for an ask: one spoken ahead, or the prompt
// (which the caller may answer over), then keys or speech after it.
func (r *run) answer(ctx context.Context, n *Node, sp *Speech) (Input, error) {
	if r.heard != nil {
		in := *r.heard
		r.heard = nil
		return in, nil
	}
	in, err := r.play(ctx, n, n.Ask.Prompt, sp)
	if err != nil {
		return Input{}, err
	}
	if in.Kind == InputSpeech {
		return in, nil
	}
	in, err = r.collect(ctx, n.Ask, sp)
	if err != nil {
		return Input{}, fmt.Errorf("listen: %w", err)
	}
	if in.Kind != InputDigits && in.Kind != InputSpeech {
		in = Input{Kind: InputNoInput}
	}
	return in, nil
}

// collect returns one entry of keys: straight from the typed-ahead keys when
// they already complete it, otherwise from Listen, which starts with them.
func (r *run) collect(ctx context.Context, a *Ask, sp *Speech) (Input, error) {
	typed := r.typed
	r.typed = ""
	if entry, rest, ok := a.complete(typed); ok {
		r.typed = rest
		return Input{Kind: InputDigits, Digits: entry}, nil
	}
	in, err := r.call.Listen(ctx, ListenOptions{
		NoInput:     a.Timeout,
		InterDigit:  a.InterDigit,
		MaxDigits:   a.MaxDigits,
		Terminator:  a.Terminator,
		InitialKeys: typed,
		Speech:      sp,
	})
	if err != nil {
		return Input{}, err
	}
	return in, nil
}

// complete reports whether keys already make a full entry (MaxDigits keys,
// or a terminator), and splits off the entry and what follows it.
func (a *Ask) complete(keys string) (entry, rest string, ok bool) {
	if a.Terminator != "" {
		if i := strings.IndexAny(keys, a.Terminator); i >= 0 && i <= a.MaxDigits {
			return keys[:i], keys[i+1:], true
		}
	}
	if len(keys) >= a.MaxDigits {
		return keys[:a.MaxDigits], keys[a.MaxDigits:], true
	}
	return "", keys, false
}

// choice returns the choice whose key is digits, or nil.
func (a *Ask) choice(digits string) *Choice {
	for _, c := range a.Choices {
		if c.Key == digits {
			return c
		}
	}
	return nil
}

// finish turns the walk's error into the result, hangs up after an error
// while the caller is still there, and logs the outcome.
func (r *run) finish(ctx context.Context, err error) Result {
	res := r.res
	var hf errHangupFailed
	switch {
	case err == nil && res.TransferredTo != "":
		res.Outcome = OutcomeTransferred
	case err == nil:
		res.Outcome = OutcomeHangup
	case ctx.Err() != nil:
		res.Outcome = OutcomeCallerHangup
		res.Err = context.Cause(ctx)
	case errors.Is(err, ErrHangup):
		res.Outcome = OutcomeCallerHangup
	default:
		res.Outcome = OutcomeError
		res.Err = err
		if !errors.As(err, &hf) {
			if herr := r.call.Hangup(ctx); herr != nil && !errors.Is(herr, ErrHangup) {
				r.log.Warn("hang up after error", "err", herr)
			}
		}
	}
	path := res.Path
	if len(path) > 20 {
		path = append([]string{"..."}, path[len(path)-20:]...)
	}
	attrs := []any{"outcome", res.Outcome.String(), "nodes", len(res.Path), "path", strings.Join(path, " > ")}
	if res.Outcome == OutcomeError {
		r.log.Error("flow ended", append(attrs, "err", res.Err)...)
	} else {
		r.log.Info("flow ended", attrs...)
	}
	return res
}
