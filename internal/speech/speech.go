// Package speech maps a flow's listening options (ivr.Speech) onto a
// listening turn's (asr.TurnOptions), so that real calls (sip) and replayed
// ones (internal/replay) listen exactly the same way.
package speech

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/switchboard-voice/switchboard/asr"
	"github.com/switchboard-voice/switchboard/ivr"
	"github.com/switchboard-voice/switchboard/media"
)

// PreRollFrames is how much audio from before a turn starts the turn sees:
// enough to catch a caller who began speaking just before the prompt.
const PreRollFrames = 15

// BargeInMinSpeech is how long the caller must speak to stop a prompt in
// speech mode, so that with the VAD's lag the prompt stops within about
// 250 ms of the onset.
const BargeInMinSpeech = 200 * time.Millisecond

// TurnOptions maps sp onto a turn's options. listen says whether the turn
// waits for an answer after the prompt; noInput, when not zero, overrides
// the preset's no-input time.
func TurnOptions(sp *ivr.Speech, listen bool, noInput time.Duration) asr.TurnOptions {
	name := sp.Endpoint
	if name == "" {
		name = "menu"
	}
	ep, ok := media.Preset(name)
	if !ok {
		ep, _ = media.Preset("menu")
	}
	if sp.EndSilence > 0 {
		ep.EndSilence = sp.EndSilence
	}
	if sp.MaxSpeech > 0 {
		ep.MaxSpeech = sp.MaxSpeech
	}
	if noInput > 0 {
		ep.NoInput = noInput
	}
	ep.MinSpeech = min(ep.MinSpeech, BargeInMinSpeech)
	b := asr.BargeInSpeech
	switch sp.BargeIn {
	case ivr.BargeInHotword:
		b = asr.BargeInHotword
	case ivr.BargeInOff:
		b = asr.BargeInOff
	}
	return asr.TurnOptions{
		Endpoint: ep,
		BargeIn:  b,
		Language: sp.Language,
		Choices:  sp.Choices,
		Intents:  sp.Intents,
		Listen:   listen,
	}
}

// Input turns a finished turn into the flow's input, and logs what was
// heard with its timing. A recogniser failure is logged and comes back as
// a no-match, with the error for the caller's bookkeeping.
func Input(t *asr.Turn, log *slog.Logger) (ivr.Input, error) {
	if err := t.Err(); err != nil {
		log.Error("speech recognition failed", "error", err)
		return ivr.Input{Kind: ivr.InputSpeech, NoMatch: true}, err
	}
	r := t.Result()
	switch r.Outcome {
	case asr.OutcomeSpeech:
		in := ivr.Input{Kind: ivr.InputSpeech, Text: r.Result.Text, Confidence: r.Result.Confidence,
			NoMatch: r.Result.NoMatch, BargedIn: r.BargedIn}
		log.Info("speech", "text", in.Text, "confidence", fmt.Sprintf("%.2f", in.Confidence), "no_match", in.NoMatch,
			"barged_in", r.BargedIn, "early", r.Early,
			"speech_ms", (r.SpeechEnd - r.SpeechStart).Milliseconds(),
			"endpoint_ms", (r.Ended - r.SpeechEnd).Milliseconds())
		return in, nil
	case asr.OutcomeNoInput:
		return ivr.Input{Kind: ivr.InputNoInput}, nil
	}
	return ivr.Input{Kind: ivr.InputNone}, nil
}
