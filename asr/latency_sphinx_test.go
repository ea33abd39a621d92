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
			if asr.ContainsPhrase(text, p) {
				out = append(out, g[0])
				break
			}
		}
	}
	return out
}

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
				t.Errorf("%s: %q heard as %q (no-match %v): the operator intent must be found", s.File, s.Text, res.Result.Text, res.Result.NoMatch)
			}
			if s.Kind == "pause" && res.Result.Text != "" && len(res.Result.Words) > 0 && s.Speech[0][1] > 0 {
				// One utterance across the 400 ms pause: the words of
				// both halves are in the result.
				if !strings.Contains(res.Result.Text, lastWord(s.Text)) {
					t.Errorf("%s: cut off at the pause? heard %q of %q", s.File, res.Result.Text, s.Text)
				}
			}
		case "menu":
			ok := heard && len(got) == 1 && got[0] == groupOf(s.Expect)
			count("menu/"+s.SNR, ok)
		case "offgrammar", "distractor":
			count(s.Kind+" rejected/"+s.SNR, !heard || len(got) == 0)
		}
	}
	keys := make([]string, 0, len(rates))
	for k := range rates {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		r := rates[k]
		t.Logf("%-28s %3d/%-3d %5.1f%%", k, r.ok, r.n, 100*float64(r.ok)/float64(r.n))
	}
	menuOK, menuN := rates["menu/clean"].ok+rates["menu/20"].ok, rates["menu/clean"].n+rates["menu/20"].n
	if float64(menuOK) < 0.95*float64(menuN) {
		t.Errorf("menu words: %d/%d right on clean and 20 dB audio, want >= 95%%", menuOK, menuN)
	}
}

// maxShiftFlips is how many (sample, shift) pairs of
// TestCorpusShiftedThroughTurns may decide differently from the unshifted
// sample today. The target is 0: a few milliseconds of alignment must not
// change what a caller is heard to say. Lower it as the backend improves.
const maxShiftFlips = 18

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

func lastWord(text string) string {
	f := strings.Fields(strings.ToLower(strings.Trim(text, ".!? ")))
	return strings.Trim(f[len(f)-1], ".,!?")
}

// BenchmarkEndOfSpeechToResult reports how long after the caller stops
// speaking the turn's result is there: with the early endpoint (an answer
// that matches a choice exactly) and without it, and the real-time factor
// of the whole listening path (VAD frames, endpointing, pocketsphinx).
func BenchmarkEndOfSpeechToResult(b *testing.B) {
	rec := newSphinx(b)
	var samples []*sample
	for _, s := range loadCorpus(b) {
		if (s.Kind == "menu" || s.Kind == "intent") && s.SNR == "clean" {
			samples = append(samples, s)
		}
	}
	var early, full []time.Duration
	var rtf []float64
	for b.Loop() {
		for _, s := range samples {
			res, lat, f := listenTo(b, rec, s)
			rtf = append(rtf, f)
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
