package asr

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/media"
	"github.com/switchboard-voice/switchboard/tts"
)

// fakeRec "recognises" a fixed text once it has heard enough audio, and
// records what it was given.
type fakeRec struct {
	text    string        // what it recognises
	after   time.Duration // audio needed before a partial appears
	noMatch bool
	started int
	hints   Hints
}

func (r *fakeRec) Start(ctx context.Context, h Hints) (Utterance, error) {
	r.started++
	r.hints = h
	return &fakeUtt{r: r}, nil
}

type fakeUtt struct {
	r       *fakeRec
	samples int
}

func (u *fakeUtt) Write(pcm []int16) error { u.samples += len(pcm); return nil }

func (u *fakeUtt) Partial() (Result, bool) {
	if time.Duration(u.samples)*time.Second/SampleRate < u.r.after || u.r.text == "" {
		return Result{}, false
	}
	return Result{Text: u.r.text, Confidence: 0.9, NoMatch: u.r.noMatch}, true
}

func (u *fakeUtt) Finish() (Result, error) {
	return Result{Text: u.r.text, Confidence: 0.9, NoMatch: u.r.noMatch || u.r.text == ""}, nil
}

func (u *fakeUtt) Close() error { return nil }

// corpus loads a file of testdata/speech as frames through a Listener, as
// a call would deliver them, with lead seconds of line silence before.
func corpus(t *testing.T, name string, lead time.Duration) []Frame {
	t.Helper()
	pcm, err := tts.LoadFile(filepath.Join("..", "testdata", "speech", name))
	if err != nil {
		t.Fatal(err)
	}
	silence, err := tts.LoadFile(filepath.Join("..", "testdata", "speech", "silence-line-3s.wav"))
	if err != nil {
		t.Fatal(err)
	}
	var all []int16
	for lead > 0 {
		n := min(len(silence), int(lead*media.SampleRate/time.Second))
		all = append(all, silence[:n]...)
		lead -= time.Duration(n) * time.Second / media.SampleRate
	}
	all = append(all, pcm...)
	l := NewListener(media.VADConfig{})
	var frames []Frame
	for i := 0; i+media.FrameSamples <= len(all); i += media.FrameSamples {
		l.Feed(all[i : i+media.FrameSamples])
		frames = l.Take(frames)
	}
	// Trailing line silence, so the turn can see the end of speech.
	for i := 0; i+media.FrameSamples <= len(silence); i += media.FrameSamples {
		l.Feed(silence[i : i+media.FrameSamples])
		frames = l.Take(frames)
	}
	return frames
}

type turnRun struct {
	stopped   time.Duration // when ActionStopPrompt came; -1 if never
	done      time.Duration // when ActionDone came; -1 if never
	res       TurnResult
	promptEnd time.Duration
}

// drive feeds frames to a turn whose prompt plays for promptLen.
func drive(t *testing.T, tr *Turn, frames []Frame, promptLen time.Duration) turnRun {
	t.Helper()
	run := turnRun{stopped: -1, done: -1, promptEnd: promptLen}
	for i := range frames {
		now := time.Duration(i+1) * media.FrameDuration
		if tr.Playing() && now >= promptLen {
			if a := tr.PromptEnded(); a&ActionDone != 0 {
				run.done = now
				break
			}
		}
		a := tr.Process(&frames[i])
		if a&ActionStopPrompt != 0 && run.stopped < 0 {
			run.stopped = now
		}
		if a&ActionDone != 0 {
			run.done = now
			break
		}
	}
	if tr.Err() != nil {
		t.Fatal(tr.Err())
	}
	run.res = tr.Result()
	return run
}

var menuChoices = [][]string{{"billing"}, {"technical support", "support"}, {"sales"}}
var operatorIntent = [][]string{{"operator", "agent", "representative", "human", "a real person"}}

func TestSpeechBargeInStopsPrompt(t *testing.T) {
	frames := corpus(t, "intent-operator-enus-130-clean.wav", time.Second)
	rec := &fakeRec{text: "operator", after: 300 * time.Millisecond}
	tr := NewTurn(context.Background(), rec, TurnOptions{
		Endpoint: media.EndpointConfig{MinSpeech: 200 * time.Millisecond},
		BargeIn:  BargeInSpeech, Intents: operatorIntent, Listen: true,
	}, true)
	run := drive(t, tr, frames, 10*time.Second)
	onset := time.Second + 500*time.Millisecond // lead + the file's own 500 ms
	if run.stopped < 0 {
		t.Fatal("the prompt was not stopped")
	}
	if d := run.stopped - onset; d < 0 || d > 300*time.Millisecond {
		t.Errorf("prompt stopped %v after the speech onset", d)
	}
	if run.res.Outcome != OutcomeSpeech || !run.res.BargedIn || run.res.Result.Text != "operator" {
		t.Errorf("result %+v", run.res)
	}
	// The recogniser got the pre-roll: the utterance starts before the
	// onset the VAD saw.
	if run.res.SpeechStart > onset {
		t.Errorf("utterance starts at %v, after the onset %v: no pre-roll", run.res.SpeechStart, onset)
	}
}

func TestHotwordIgnoresDistractors(t *testing.T) {
	for _, name := range []string{"distractor-cough-double.wav", "distractor-uh-huh-enus-130-clean.wav", "distractor-mm-hmm-enus-160-clean.wav", "distractor-breath.wav"} {
		t.Run(name, func(t *testing.T) {
			// The recogniser hears the backchannel as what it is: no match.
			rec := &fakeRec{text: "", after: 100 * time.Millisecond}
			tr := NewTurn(context.Background(), rec, TurnOptions{
				BargeIn: BargeInHotword, Choices: menuChoices, Intents: operatorIntent, Listen: true,
			}, true)
			run := drive(t, tr, corpus(t, name, 500*time.Millisecond), 10*time.Second)
			if run.stopped >= 0 {
				t.Errorf("a distractor stopped the prompt at %v", run.stopped)
			}
		})
	}
}

func TestSpeechModeIgnoresCough(t *testing.T) {
	rec := &fakeRec{}
	tr := NewTurn(context.Background(), rec, TurnOptions{BargeIn: BargeInSpeech, Listen: true}, true)
	run := drive(t, tr, corpus(t, "distractor-cough-double.wav", 500*time.Millisecond), 10*time.Second)
	if run.stopped >= 0 {
		t.Errorf("a cough stopped the prompt at %v", run.stopped)
	}
}

func TestHotwordStopsOnChoice(t *testing.T) {
	rec := &fakeRec{text: "billing", after: 400 * time.Millisecond}
	tr := NewTurn(context.Background(), rec, TurnOptions{
		BargeIn: BargeInHotword, Choices: menuChoices, Intents: operatorIntent, Listen: true,
	}, true)
	run := drive(t, tr, corpus(t, "menu-billing-enus-130-clean.wav", 500*time.Millisecond), 10*time.Second)
	if run.stopped < 0 || run.res.Result.Text != "billing" || !run.res.BargedIn {
		t.Errorf("stopped %v, result %+v", run.stopped, run.res)
	}
}

func TestOffModeOnlyIntents(t *testing.T) {
	frames := corpus(t, "menu-billing-enus-130-clean.wav", 500*time.Millisecond)
	tr := NewTurn(context.Background(), &fakeRec{text: "billing", after: 300 * time.Millisecond}, TurnOptions{
		BargeIn: BargeInOff, Choices: menuChoices, Intents: operatorIntent, Listen: true,
	}, true)
	if run := drive(t, tr, frames, 10*time.Second); run.stopped >= 0 {
		t.Errorf("a choice stopped a prompt with barge-in off at %v", run.stopped)
	}
	frames = corpus(t, "intent-operator-enus-130-clean.wav", 500*time.Millisecond)
	tr = NewTurn(context.Background(), &fakeRec{text: "operator", after: 300 * time.Millisecond}, TurnOptions{
		BargeIn: BargeInOff, Choices: menuChoices, Intents: operatorIntent, Listen: true,
	}, true)
	if run := drive(t, tr, frames, 10*time.Second); run.stopped < 0 || run.res.Result.Text != "operator" {
		t.Errorf("operator did not stop a prompt with barge-in off: %+v", run)
	}
}

func TestNoInput(t *testing.T) {
	tr := NewTurn(context.Background(), &fakeRec{}, TurnOptions{
		Endpoint: media.EndpointConfig{NoInput: 2 * time.Second}, Listen: true,
	}, true)
	run := drive(t, tr, corpus(t, "silence-line-3s.wav", 3*time.Second), time.Second)
	if run.res.Outcome != OutcomeNoInput {
		t.Fatalf("outcome %v", run.res.Outcome)
	}
	// The timer starts when the prompt ends, not before.
	if d := run.done - run.promptEnd; d < 2*time.Second-40*time.Millisecond || d > 2*time.Second+40*time.Millisecond {
		t.Errorf("no-input after %v from the prompt's end, want 2s", d)
	}
}

func TestPauseIsNotAnEnd(t *testing.T) {
	rec := &fakeRec{text: "technical support please", after: 2 * time.Second}
	tr := NewTurn(context.Background(), rec, TurnOptions{Choices: menuChoices, Listen: true}, false)
	run := drive(t, tr, corpus(t, "pause-technical-support-please-enusm3-160-clean.wav", 0), 0)
	if run.res.Outcome != OutcomeSpeech || rec.started != 1 {
		t.Fatalf("outcome %v after %d utterances", run.res.Outcome, rec.started)
	}
	if run.res.Result.Text != "technical support please" {
		t.Errorf("text %q", run.res.Result.Text)
	}
}

func TestEarlyEndpoint(t *testing.T) {
	frames := corpus(t, "menu-billing-enus-130-clean.wav", 0)
	late := NewTurn(context.Background(), &fakeRec{text: "uh", after: 200 * time.Millisecond}, TurnOptions{Choices: menuChoices, Listen: true}, false)
	early := NewTurn(context.Background(), &fakeRec{text: "billing", after: 200 * time.Millisecond}, TurnOptions{Choices: menuChoices, Listen: true}, false)
	l, e := drive(t, late, frames, 0), drive(t, early, frames, 0)
	if !e.res.Early || l.res.Early {
		t.Fatalf("early flags: matching %v, not matching %v", e.res.Early, l.res.Early)
	}
	// Without a match the turn waits EndSilence (700 ms) after the speech;
	// with one it ends after the short pause.
	if d := e.done - e.res.SpeechEnd; d > 300*time.Millisecond {
		t.Errorf("early endpoint %v after the end of speech", d)
	}
	if d := l.done - l.res.SpeechEnd; d < 650*time.Millisecond {
		t.Errorf("full endpoint only %v after the end of speech", d)
	}
	t.Logf("end of speech -> turn end: %v with a matching partial, %v without", e.done-e.res.SpeechEnd, l.done-l.res.SpeechEnd)
}

func TestSayHearsCallerOut(t *testing.T) {
	// A say (Listen false) whose prompt ends while the caller speaks
	// waits for the end of the utterance.
	frames := corpus(t, "menu-technical-support-enus-160-clean.wav", 0)
	tr := NewTurn(context.Background(), &fakeRec{text: "technical support", after: 2 * time.Second}, TurnOptions{BargeIn: BargeInOff, Choices: menuChoices}, true)
	run := drive(t, tr, frames, 800*time.Millisecond)
	if run.res.Outcome != OutcomeSpeech || run.res.Result.Text != "technical support" {
		t.Errorf("result %+v", run.res)
	}
	// And one with nothing said ends with the prompt.
	tr = NewTurn(context.Background(), &fakeRec{}, TurnOptions{}, true)
	run = drive(t, tr, corpus(t, "silence-line-3s.wav", 0), time.Second)
	if run.res.Outcome != OutcomePromptEnded || run.done != time.Second {
		t.Errorf("silent say: %+v at %v", run.res, run.done)
	}
}

func TestNothingExpected(t *testing.T) {
	// With no phrase expected the recogniser is not asked; speech can
	// still stop the prompt and comes back as a no-match.
	rec := &fakeRec{text: "operator"}
	tr := NewTurn(context.Background(), rec, TurnOptions{BargeIn: BargeInSpeech}, true)
	run := drive(t, tr, corpus(t, "intent-operator-enus-130-clean.wav", 0), 10*time.Second)
	if rec.started != 0 || run.stopped < 0 || run.res.Outcome != OutcomeSpeech || !run.res.Result.NoMatch {
		t.Errorf("started %d, stopped %v, result %+v", rec.started, run.stopped, run.res)
	}
}

func TestEchoDoesNotBargeIn(t *testing.T) {
	// The prompt's own echo (-45 dBFS) says "billing", a choice: it must
	// not stop the prompt in either mode.
	for _, mode := range []BargeIn{BargeInSpeech, BargeInHotword} {
		rec := &fakeRec{text: "for billing press one", after: 300 * time.Millisecond}
		tr := NewTurn(context.Background(), rec, TurnOptions{BargeIn: mode, Choices: menuChoices, Listen: true}, true)
		run := drive(t, tr, corpus(t, "distractor-line-echo-enus-150-clean.wav", 0), 20*time.Second)
		if run.stopped >= 0 || rec.started != 0 {
			t.Errorf("%v: echo stopped the prompt at %v (%d utterances)", mode, run.stopped, rec.started)
		}
	}
}
