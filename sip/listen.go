package sip

import (
	"context"
	"time"

	"github.com/switchboard-voice/switchboard/asr"
	"github.com/switchboard-voice/switchboard/internal/speech"
	"github.com/switchboard-voice/switchboard/ivr"
)

// startTurn begins a turn of listening, or returns nil when the call has no
// recogniser or the flow asked for keys only.
func (c *Call) startTurn(ctx context.Context, sp *ivr.Speech, listen bool, noInput time.Duration, playing bool) *asr.Turn {
	rec := c.srv.opts.Recognizer
	if sp == nil || rec == nil {
		return nil
	}
	t := asr.NewTurn(ctx, rec, speech.TurnOptions(sp, listen, noInput), playing)
	// Audio from before the turn counts only as pre-roll.
	c.frames = c.listener.Take(c.frames[:0])
	if n := len(c.frames); n > speech.PreRollFrames {
		c.frames = c.frames[n-speech.PreRollFrames:]
	}
	c.turnStart = time.Now()
	return t
}

// feedTurn gives the turn the frames waiting in the listener.
func (c *Call) feedTurn(t *asr.Turn) asr.Action {
	if len(c.frames) == 0 {
		c.frames = c.listener.Take(c.frames[:0])
	}
	var act asr.Action
	for i := range c.frames {
		a := t.Process(&c.frames[i])
		if a&asr.ActionStopPrompt != 0 && act&asr.ActionStopPrompt == 0 {
			c.log.Info("barge-in", "by", "speech", "after", time.Since(c.turnStart).Round(time.Millisecond).String())
		}
		act |= a
		if act&asr.ActionDone != 0 {
			break
		}
	}
	c.frames = c.frames[:0]
	return act
}

// turnInput turns a finished turn into the flow's input and logs it.
func (c *Call) turnInput(t *asr.Turn) ivr.Input {
	in, _ := speech.Input(t, c.log)
	return in
}

// listenSpeech waits for an answer by voice or keys after a prompt. A key
// ends the speech turn and starts key collection with it.
func (c *Call) listenSpeech(ctx context.Context, t *asr.Turn, opts ivr.ListenOptions) (ivr.Input, byte, error) {
	defer t.Close()
	// A backstop for when no audio arrives at all (a held call sends
	// none): the turn counts time in frames.
	ep := speech.TurnOptions(opts.Speech, true, opts.NoInput).Endpoint
	backstop := time.NewTimer(ep.NoInput + ep.MaxSpeech + 2*time.Second)
	defer backstop.Stop()
	if act := c.feedTurn(t); act&asr.ActionDone != 0 {
		return c.turnInput(t), 0, nil
	}
	for {
		select {
		case <-c.listener.Wake():
			if act := c.feedTurn(t); act&asr.ActionDone != 0 {
				return c.turnInput(t), 0, nil
			}
		case d := <-c.media.Digits():
			c.log.Info("dtmf", "key", string(d.Key))
			return ivr.Input{}, d.Key, nil
		case k := <-c.infoKeys:
			c.log.Info("dtmf", "key", string(k), "via", "info")
			return ivr.Input{}, k, nil
		case <-backstop.C:
			c.log.Warn("no audio from the caller while listening")
			return ivr.Input{Kind: ivr.InputNoInput}, 0, nil
		case <-ctx.Done():
			return ivr.Input{}, 0, ivr.ErrHangup
		case <-c.ctx.Done():
			return ivr.Input{}, 0, ivr.ErrHangup
		}
	}
}
