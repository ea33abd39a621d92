package ivr

import (
	"context"
	"fmt"

	"github.com/switchboard-voice/switchboard/internal/phrase"
)

// intents returns the global intents' phrases, one group per intent, for
// the recogniser and barge-in.
func (r *run) intents() [][]string {
	var out [][]string
	for _, g := range r.flow.Globals {
		if len(g.Phrases) > 0 {
			out = append(out, g.Phrases)
		}
	}
	return out
}

// globalFor returns the global intent an input names, or nil: an entry of
// keys that is exactly an intent's key, or speech holding one of its
// phrases (the longest matching phrase decides between intents). Globals
// are checked before a node's choices, so no node can shadow them.
func (r *run) globalFor(in Input) *Global {
	var found *Global
	switch in.Kind {
	case InputDigits:
		for _, g := range r.flow.Globals {
			if g.Key != "" && in.Digits == g.Key {
				found = g
			}
		}
	case InputSpeech:
		if in.NoMatch {
			return nil
		}
		best := 0
		for _, g := range r.flow.Globals {
			for _, p := range g.Phrases {
				if phrase.Contains(in.Text, p) && len(phrase.Normalize(p)) > best {
					found, best = g, len(phrase.Normalize(p))
				}
			}
		}
	}
	if found != nil {
		r.res.Globals = append(r.res.Globals, found.Name)
		attrs := []any{"intent", found.Name}
		switch {
		case found.Repeat():
			attrs = append(attrs, "action", "repeat")
		case found.HangsUp():
			attrs = append(attrs, "action", "hangup")
		default:
			attrs = append(attrs, "next", found.Next.Node)
		}
		r.log.Info("global intent", attrs...)
	}
	return found
}

// typedGlobal takes keys typed during a say node when they are exactly a
// global intent's key ("0" for the operator): they act at once rather
// than waiting for the next ask.
func (r *run) typedGlobal() *Global {
	for _, g := range r.flow.Globals {
		if g.Key != "" && r.typed == g.Key {
			r.typed = ""
			return g
		}
	}
	return nil
}

// transfer runs a transfer node: each target in turn, then the fallback.
func (r *run) transfer(ctx context.Context, n *Node) (step, error) {
	t := n.Transfer
	r.heard, r.typed = nil, ""
	if _, err := r.play(ctx, n, t.Say, nil); err != nil {
		return step{}, err
	}
	for _, tg := range t.Targets {
		res, err := r.call.Transfer(ctx, tg.URI, t.Timeout)
		r.res.Transfers = append(r.res.Transfers, TransferAttempt{Node: n.ID, Target: tg.URI, TransferResult: res})
		r.log.Info("transfer", "node", n.ID, "target", tg.URI, "outcome", res.Outcome.String(), "status", res.Status, "reason", res.Reason)
		if err != nil {
			return step{}, fmt.Errorf("transfer to %s: %w", tg.URI, err)
		}
		switch res.Outcome {
		case TransferOK:
			r.res.TransferredTo = tg.URI
			return step{transferred: true}, nil
		case TransferCallerGone:
			return step{}, ErrHangup
		}
	}
	r.log.Info("transfer failed, falling back", "node", n.ID, "fallback", t.Fallback.Node)
	if _, err := r.play(ctx, n, t.FallbackSay, nil); err != nil {
		return step{}, err
	}
	if t.Fallback.Node == "" {
		return step{hangup: true}, nil
	}
	return step{next: t.Fallback.Node}, nil
}
