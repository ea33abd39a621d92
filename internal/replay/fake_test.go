package replay

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-voice/switchboard/asr"
	"github.com/switchboard-voice/switchboard/internal/dsp"
	"github.com/switchboard-voice/switchboard/internal/phrase"
	"github.com/switchboard-voice/switchboard/ivr"
)

// fakeVoice is both the synthesiser and the recogniser of the unit tests.
// It speaks each caller phrase as a voiced, speech-like signal with its
// own pitch, and recognises an utterance by the pitch it finds in it, so
// the tests exercise the real VAD, barge-in and endpointing with a
// recogniser that never guesses. Any other text (the flow's prompts)
// gets a fixed pitch; its length is 60 ms per character.
type fakeVoice struct {
	mu     sync.Mutex
	pitch  map[string]float64
	starts int
}

const (
	fakeLow, fakeStep = 110.0, 20.0
	promptPitch       = 400.0 // never a caller's
)

func newFakeVoice(phrases ...string) *fakeVoice {
	v := &fakeVoice{pitch: map[string]float64{}}
	for i, p := range phrases {
		v.pitch[p] = fakeLow + fakeStep*float64(i)
	}
	return v
}

func (v *fakeVoice) Text(_ context.Context, text string) ([]int16, error) {
	if text == "" {
		return nil, errors.New("empty")
	}
	f0, ok := v.pitch[text]
	if !ok {
		f0 = promptPitch
	}
	return voiceLike(len(text)*480, f0), nil
}

func (v *fakeVoice) File(context.Context, string) ([]int16, error) {
	return nil, errors.New("fake: no files")
}

// voiceLike is n samples of a glottal pulse train's harmonics (1/k) at f0
// with a syllable-rate envelope, at about -20 dBFS.
func voiceLike(n int, f0 float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		t := float64(i) / sampleRate
		var s float64
		for k := 1; float64(k)*f0 < 3400; k++ {
			s += math.Sin(2*math.Pi*f0*float64(k)*t) / float64(k)
		}
		env := 0.65 + 0.35*math.Cos(2*math.Pi*4*t)
		out[i] = clip16(s * env * 2500)
	}
	return out
}

// identify returns the phrase whose pitch the audio has, or "".
func (v *fakeVoice) identify(pcm []int16) string {
	f := dsp.DominantFrequency(pcm, asr.SampleRate, 90, 420)
	best, bestD := "", fakeStep/3
	for p, f0 := range v.pitch {
		if d := math.Abs(f - f0); d < bestD {
			best, bestD = p, d
		}
	}
	return best
}

func (v *fakeVoice) Start(_ context.Context, h asr.Hints) (asr.Utterance, error) {
	v.mu.Lock()
	v.starts++
	v.mu.Unlock()
	return &fakeUtterance{v: v, hints: h.Phrases}, nil
}

type fakeUtterance struct {
	v     *fakeVoice
	hints []string
	audio []int16
}

func (u *fakeUtterance) Write(pcm []int16) error {
	u.audio = append(u.audio, pcm...)
	return nil
}

func (u *fakeUtterance) result() asr.Result {
	text := u.v.identify(u.audio)
	r := asr.Result{Text: text, Confidence: 0.9, NoMatch: true}
	for _, h := range u.hints {
		if text != "" && phrase.Contains(text, h) {
			r.NoMatch = false
		}
	}
	return r
}

// Partial gives a hypothesis once 300 ms of audio have been written.
func (u *fakeUtterance) Partial() (asr.Result, bool) {
	if len(u.audio) < asr.SampleRate*3/10 {
		return asr.Result{}, false
	}
	r := u.result()
	if r.NoMatch {
		return asr.Result{}, false
	}
	return r, true
}

func (u *fakeUtterance) Finish() (asr.Result, error) { return u.result(), nil }
func (u *fakeUtterance) Close() error                { return nil }

// callerPhrases are what the unit tests' callers say.
var callerPhrases = []string{"billing", "technical support", "sales", "operator", "repeat", "goodbye", "mumble", "the weather is nice"}

// demoFlow loads the demo flow, prepared with v.
func demoFlow(t *testing.T, v *fakeVoice) *ivr.Flow {
	t.Helper()
	f, err := ivr.Load("../../configs/flows/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Prepare(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	return f
}

// scenario parses a scenario written in a test, in a temporary directory.
func scenario(t *testing.T, text string) *Scenario {
	t.Helper()
	path := filepath.Join(t.TempDir(), strings.ReplaceAll(t.Name(), "/", "-")+".yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// replay runs a scenario text on the demo flow with the fake voice.
func replay(t *testing.T, text string) Report {
	t.Helper()
	v := newFakeVoice(callerPhrases...)
	f := demoFlow(t, v)
	sc := scenario(t, text)
	if err := sc.CheckFlow(f); err != nil {
		t.Fatal(err)
	}
	rep := Run(context.Background(), f, sc, v, v, testLog(t))
	t.Logf("path %s, heard %s, %v of audio in %v", joinPath(rep.Result.Path), heardList(rep.Heard), rep.Audio, rep.Elapsed)
	return rep
}
