//go:build sphinx

package asr_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/switchboard-voice/switchboard/asr"
	"github.com/switchboard-voice/switchboard/asr/sphinx"
	"github.com/switchboard-voice/switchboard/internal/phrase"
	"github.com/switchboard-voice/switchboard/media"
	"github.com/switchboard-voice/switchboard/tts"
)

// The demo menu and the operator intent: what the corpus is tested with.
var (
	menu = [][]string{
		{"billing"}, {"technical support", "support"}, {"sales"}, {"repeat"}, {"yes"}, {"no"},
	}
	intents = [][]string{{"operator", "agent", "representative", "human", "a real person"}}
)

type sample struct {
	File   string   `yaml:"file"`
	Kind   string   `yaml:"kind"`
	Text   string   `yaml:"text"`
	Expect string   `yaml:"expect"`
	SNR    string   `yaml:"snr"`
	Speech [][2]int `yaml:"speech"`
	frames []asr.Frame
	shift  int // 8 kHz samples of line silence before the file
}

func loadCorpus(tb testing.TB) []*sample {
	tb.Helper()
	data, err := os.ReadFile("../testdata/speech/manifest.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	var all []*sample
	if err := yaml.Unmarshal(data, &all); err != nil {
		tb.Fatal(err)
	}
	return all
}

// framesOf runs a file through a Listener as a call would (VAD on each
// frame), with a second of line silence after it.
func framesOf(tb testing.TB, s *sample) []asr.Frame {
	tb.Helper()
	if s.frames != nil {
		return s.frames
	}
	pcm, err := tts.LoadFile(filepath.Join("..", "testdata", "speech", s.File))
	if err != nil {
		tb.Fatal(err)
	}
	pcm = append(make([]int16, s.shift), pcm...)
	for i := range s.shift {
		pcm[i] = int16((i*7919)%5) - 2 // line hiss, not digital zero
	}
	pcm = append(pcm, make([]int16, media.SampleRate)...)
	for i := len(pcm) - media.SampleRate; i < len(pcm); i++ {
		pcm[i] = int16((i*7919)%5) - 2
	}
	l := asr.NewListener(media.VADConfig{})
	for i := 0; i+media.FrameSamples <= len(pcm); i += media.FrameSamples {
		l.Feed(pcm[i : i+media.FrameSamples])
		s.frames = l.Take(s.frames)
	}
	return s.frames
}

func newSphinx(tb testing.TB) *sphinx.Recognizer {
	tb.Helper()
	r, err := sphinx.New(sphinx.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

// listenTo runs a listening turn (no prompt, as after a menu) over a
// sample and returns the result, how long after the true end of speech
// the result was available (audio time to the deciding frame, plus the
// computing time of that frame, which includes the final decode), and
// the recognition time per second of audio.
func listenTo(tb testing.TB, rec asr.Recognizer, s *sample) (asr.TurnResult, time.Duration, float64) {
	tb.Helper()
	frames := framesOf(tb, s)
	ep, _ := media.Preset("menu")
	tr := asr.NewTurn(context.Background(), rec, asr.TurnOptions{Endpoint: ep, Choices: menu, Intents: intents, Listen: true, EarlyPause: earlyPause}, false)
	defer tr.Close()
	var busy time.Duration
	for i := range frames {
		start := time.Now()
		act := tr.Process(&frames[i])
		took := time.Since(start)
		busy += took
		if act&asr.ActionDone != 0 {
			if err := tr.Err(); err != nil {
				tb.Fatal(err)
			}
			res := tr.Result()
			end := time.Duration(s.Speech[len(s.Speech)-1][1]) * time.Millisecond
			lat := time.Duration(i+1)*media.FrameDuration - end + took
			audio := time.Duration(len(frames)) * media.FrameDuration
			return res, lat, busy.Seconds() / audio.Seconds()
		}
	}
	// Audio that never made a whole utterance (a lone cough) leaves the
	// turn waiting for its no-input timer: nothing was heard.
	return asr.TurnResult{Outcome: asr.OutcomeNoInput}, 0, busy.Seconds() / (time.Duration(len(frames)) * media.FrameDuration).Seconds()
}

func matches(text string, groups [][]string) []string {
	var out []string
	for _, g := range groups {
		for _, p := range g {
			if phrase.Contains(text, p) {
				out = append(out, g[0])
				break
			}
		}
	}
	return out
}

// The product's targets for the corpus through the call pipeline, and
// what the pocketsphinx backend reaches today. The test fails when the
// backend falls below what it reaches (a regression) and logs how far it
// is from the targets; raise the floors as it improves.
const (
	targetOperatorMisses = 0    // operator found in every clean and 20 dB sample
	floorOperatorMisses  = 2    // today: 60 of 62
	targetMenu           = 0.95 // menu words right on clean and 20 dB
	floorMenu            = 0.94 // today: 51 of 54 (see below)
	targetRejected       = 0.80 // off-grammar and distractors a no-match
	floorRejected        = 0.35 // today: 13 of 34
	maxCutOffs           = 0    // pause samples whose turn ended inside the pause
)

// The menu floor was 52 of 54 before the IY alternates of variantProns
// (asr/sphinx). With them one menu sample ("sales please", en-gb, heard
// through the pipeline as "i want billing") is lost and both pause samples
// of "I would like billing" are won, and on voices the corpus does not have
// answers went from 74 to 91 of 100 and from 97 to 112 of 120. So the
// floor is one sample below the target: the corpus misses it by that one.

// TestCorpusThroughTurns runs the corpus through VAD, endpointing and the
// pocketsphinx backend, as calls do, and checks what the product promises.
func TestCorpusThroughTurns(t *testing.T) {
	rec := newSphinx(t)
	type tally struct{ ok, n int }
	rates := map[string]*tally{}
	count := func(key string, ok bool) {
		if rates[key] == nil {
			rates[key] = &tally{}
		}
		rates[key].n++
		if ok {
			rates[key].ok++
		}
	}
	operatorMisses, cutOffs := 0, 0
	for _, s := range loadCorpus(t) {
		if s.Kind == "silence" {
			continue
		}
		res, _, _ := listenTo(t, rec, s)
		got := matches(res.Result.Text, append(slices.Clone(menu), intents...))
		heard := res.Outcome == asr.OutcomeSpeech && !res.Result.NoMatch
		switch s.Kind {
		case "intent", "pause":
			want := groupOf(s.Expect)
			ok := heard && len(got) == 1 && got[0] == want
			count(s.Kind+"/"+s.SNR, ok)
			if !ok && (s.SNR == "clean" || s.SNR == "20") && s.Expect == "operator" {
				operatorMisses++
				t.Logf("MISS %s: %q heard as %q (no-match %v)", s.File, s.Text, res.Result.Text, res.Result.NoMatch)
			}
			if s.Kind == "pause" && len(s.Speech) == 2 {
				// One utterance across the 400 ms pause: the turn must not
				// end before the second half starts.
				second := time.Duration(s.Speech[1][0]) * time.Millisecond
				if res.Outcome == asr.OutcomeSpeech && res.Ended < second {
					cutOffs++
					t.Logf("CUT %s: the turn ended at %v, inside the pause (second half at %v; early %v, heard %q)", s.File, res.Ended, second, res.Early, res.Result.Text)
				}
			}
		case "menu":
			ok := heard && len(got) == 1 && got[0] == groupOf(s.Expect)
			count("menu/"+s.SNR, ok)
			if !ok && s.SNR != "10" {
				t.Logf("MISS %s: %q heard as %q (no-match %v, confidence %.2f)", s.File, s.Text, res.Result.Text, res.Result.NoMatch, res.Result.Confidence)
			}
		case "offgrammar", "distractor":
			rejected := !heard || len(got) == 0
			count("rejected/"+s.Kind+"/"+s.SNR, rejected)
			if !rejected {
				t.Logf("ACCEPTED %s: %q heard as %q (confidence %.2f)", s.File, s.Text, res.Result.Text, res.Result.Confidence)
			}
		}
	}
	keys := make([]string, 0, len(rates))
	for k := range rates {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	rejOK, rejN := 0, 0
	for _, k := range keys {
		r := rates[k]
		t.Logf("%-28s %3d/%-3d %5.1f%%", k, r.ok, r.n, 100*float64(r.ok)/float64(r.n))
		if strings.HasPrefix(k, "rejected/") {
			rejOK, rejN = rejOK+r.ok, rejN+r.n
		}
	}
	menuOK, menuN := rates["menu/clean"].ok+rates["menu/20"].ok, rates["menu/clean"].n+rates["menu/20"].n
	menuRate, rejRate := float64(menuOK)/float64(menuN), float64(rejOK)/float64(rejN)
	t.Logf("operator misses %d (target %d), menu %.0f%% (target %.0f%%), rejected %.0f%% (target %.0f%%), cut off at the pause %d (target 0)",
		operatorMisses, targetOperatorMisses, 100*menuRate, 100*targetMenu, 100*rejRate, 100*targetRejected, cutOffs)
	if operatorMisses > floorOperatorMisses {
		t.Errorf("operator intent missed in %d clean/20 dB samples, more than today's %d", operatorMisses, floorOperatorMisses)
	}
	if menuRate < floorMenu {
		t.Errorf("menu words: %d/%d, below today's %.0f%%", menuOK, menuN, 100*floorMenu)
	}
	if rejRate < floorRejected {
		t.Errorf("off-grammar and distractors rejected: %d/%d, below today's %.0f%%", rejOK, rejN, 100*floorRejected)
	}
	if cutOffs > maxCutOffs {
		t.Errorf("%d pause samples cut off inside the pause, more than today's %d", cutOffs, maxCutOffs)
	}
}

// maxShiftFlips is how many (sample, shift) pairs of
// TestCorpusShiftedThroughTurns may decide differently from the unshifted
// sample today. The target is 0: a few milliseconds of alignment must not
// change what a caller is heard to say. Lower it as the backend improves.
const maxShiftFlips = 19

// TestCorpusShiftedThroughTurns delays each clean sample by 5, 10 and
// 20 ms of line silence (which moves it against the VAD's 20 ms frames and
// the resampler) and checks that the turn decides the same: the same
// choice or intent, or a no-match.
func TestCorpusShiftedThroughTurns(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: four passes over the clean corpus")
	}
	rec := newSphinx(t)
	decide := func(s *sample) string {
		res, _, _ := listenTo(t, rec, s)
		if res.Outcome != asr.OutcomeSpeech || res.Result.NoMatch {
			return "(no match)"
		}
		return strings.Join(matches(res.Result.Text, append(slices.Clone(menu), intents...)), "+") + " <- " + res.Result.Text
	}
	flips, n := 0, 0
	for _, s := range loadCorpus(t) {
		if s.Kind == "silence" || s.SNR != "clean" {
			continue
		}
		want := decide(s)
		for _, ms := range []int{5, 10, 20} {
			shifted := &sample{File: s.File, Speech: s.Speech, shift: ms * media.SampleRate / 1000}
			shifted.Speech = [][2]int{{s.Speech[0][0] + ms, s.Speech[len(s.Speech)-1][1] + ms}}
			got := decide(shifted)
			n++
			if strings.SplitN(got, " <- ", 2)[0] != strings.SplitN(want, " <- ", 2)[0] {
				flips++
				t.Logf("%s shifted by %d ms: %q, unshifted %q", s.File, ms, got, want)
			}
		}
	}
	t.Logf("decisions changed by a shift: %d of %d", flips, n)
	if flips > maxShiftFlips {
		t.Errorf("%d of %d shifted samples decided differently, want at most %d (target 0)", flips, n, maxShiftFlips)
	}
}

func groupOf(expect string) string {
	for _, g := range menu {
		if slices.Contains(g, expect) {
			return g[0]
		}
	}
	return expect
}

// BenchmarkEndOfSpeechToResult reports how long after the caller stops
// speaking the turn's result is there: with the early endpoint (an answer
// that matches a choice exactly) and without it, and the real-time factor
// of the whole listening path (VAD frames, endpointing, pocketsphinx):
// rtf-median per second of audio on the line, rtf-speech-median per
// second of the caller's speech, which is what the target (0.05) is for.
func BenchmarkEndOfSpeechToResult(b *testing.B) {
	rec := newSphinx(b)
	var samples []*sample
	for _, s := range loadCorpus(b) {
		// Off-grammar speech matches no choice, so its turns wait for the
		// full pause: that is the latency without the early endpoint.
		if (s.Kind == "menu" || s.Kind == "intent" || s.Kind == "offgrammar") && s.SNR == "clean" {
			samples = append(samples, s)
		}
	}
	// audioPerSpeech converts a sample's cost per second of audio into its
	// cost per second of speech.
	audioPerSpeech := make([]float64, len(samples))
	for i, s := range samples {
		var speech time.Duration
		for _, sp := range s.Speech {
			speech += time.Duration(sp[1]-sp[0]) * time.Millisecond
		}
		audio := time.Duration(len(framesOf(b, s))) * media.FrameDuration
		audioPerSpeech[i] = audio.Seconds() / speech.Seconds()
	}
	var early, full []time.Duration
	var rtf, rtfSpeech []float64
	for b.Loop() {
		for i, s := range samples {
			res, lat, f := listenTo(b, rec, s)
			rtf = append(rtf, f)
			rtfSpeech = append(rtfSpeech, f*audioPerSpeech[i])
			if res.Outcome != asr.OutcomeSpeech {
				continue
			}
			if res.Early {
				early = append(early, lat)
			} else {
				full = append(full, lat)
			}
		}
	}
	report := func(name string, d []time.Duration) {
		if len(d) == 0 {
			return
		}
		slices.Sort(d)
		b.ReportMetric(float64(d[len(d)/2].Milliseconds()), name+"-median-ms")
		b.ReportMetric(float64(d[len(d)*9/10].Milliseconds()), name+"-p90-ms")
	}
	report("early", early)
	report("full", full)
	slices.Sort(rtf)
	b.ReportMetric(rtf[len(rtf)/2], "rtf-median")
	slices.Sort(rtfSpeech)
	b.ReportMetric(rtfSpeech[len(rtfSpeech)/2], "rtf-speech-median")
	b.ReportMetric(float64(len(early))/float64(len(early)+len(full)), "early-share")
}

// BenchmarkOnsetToBargeIn reports how long after the caller starts
// speaking over a prompt (speech mode) the turn stops it; a real call adds
// up to one 20 ms clock tick before the next packet is silence.
func BenchmarkOnsetToBargeIn(b *testing.B) {
	rec := newSphinx(b)
	var samples []*sample
	for _, s := range loadCorpus(b) {
		if (s.Kind == "menu" || s.Kind == "intent") && s.SNR != "10" {
			samples = append(samples, s)
		}
	}
	var lat []time.Duration
	missed := 0
	for b.Loop() {
		for _, s := range samples {
			frames := framesOf(b, s)
			ep, _ := media.Preset("menu")
			ep.MinSpeech = 200 * time.Millisecond
			tr := asr.NewTurn(context.Background(), rec, asr.TurnOptions{Endpoint: ep, BargeIn: asr.BargeInSpeech, Choices: menu, Intents: intents, Listen: true}, true)
			onset := time.Duration(s.Speech[0][0]) * time.Millisecond
			stopped := false
			for i := range frames {
				if tr.Process(&frames[i])&asr.ActionStopPrompt != 0 {
					lat = append(lat, time.Duration(i+1)*media.FrameDuration-onset)
					stopped = true
					break
				}
			}
			if !stopped {
				missed++
			}
			tr.Close()
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "median-ms")
	b.ReportMetric(float64(lat[len(lat)*9/10].Milliseconds()), "p90-ms")
	b.ReportMetric(float64(missed), "missed")
}

var earlyPause = time.Duration(0)
