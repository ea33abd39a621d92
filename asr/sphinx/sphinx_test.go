//go:build sphinx

package sphinx

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/switchboard-voice/switchboard/asr"
	"github.com/switchboard-voice/switchboard/internal/dsp"
	"github.com/switchboard-voice/switchboard/internal/phrase"
	"github.com/switchboard-voice/switchboard/tts"
)

// The hints of the corpus test: a menu node's phrases plus the global
// operator synonyms.
var (
	menuPhrases     = []string{"billing", "technical support", "support", "sales", "repeat", "yes", "no"}
	operatorPhrases = []string{"operator", "agent", "representative", "human", "a real person"}
	corpusHints     = asr.Hints{Phrases: append(slices.Clone(menuPhrases), operatorPhrases...)}
)

const corpusDir = "../../testdata/speech"

type corpusEntry struct {
	File   string  `yaml:"file"`
	Kind   string  `yaml:"kind"`
	Text   string  `yaml:"text"`
	Expect string  `yaml:"expect"`
	Voice  string  `yaml:"voice"`
	WPM    int     `yaml:"wpm"`
	SNR    string  `yaml:"snr"`
	Speech [][]int `yaml:"speech"`
}

func loadCorpus(t testing.TB) []corpusEntry {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, "manifest.yaml"))
	if err != nil {
		t.Fatalf("speech corpus: %v", err)
	}
	var m []corpusEntry
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	return m
}

// load16k reads a corpus file as the IVR would hand it over: 8 kHz G.711
// decoded, then upsampled to 16 kHz.
func load16k(t testing.TB, file string) []int16 {
	t.Helper()
	pcm, err := tts.LoadFile(filepath.Join(corpusDir, file))
	if err != nil {
		t.Fatal(err)
	}
	return dsp.Resample(nil, pcm, tts.Rate, asr.SampleRate)
}

// segmentAudio cuts what a VAD would deliver: from 300 ms before the first
// speech segment to 300 ms after the last.
func segmentAudio(pcm []int16, speech [][]int) []int16 {
	if len(speech) == 0 {
		return pcm
	}
	ms := asr.SampleRate / 1000
	lo := max((speech[0][0]-300)*ms, 0)
	hi := min((speech[len(speech)-1][1]+300)*ms, len(pcm))
	if lo >= hi {
		return pcm
	}
	return pcm[lo:hi]
}

// recognize feeds pcm in 20 ms frames and returns the final result.
func recognize(ctx context.Context, r *Recognizer, h asr.Hints, pcm []int16) (asr.Result, verification, error) {
	u, err := r.Start(ctx, h)
	if err != nil {
		return asr.Result{}, verification{}, err
	}
	defer u.Close()
	for i := 0; i < len(pcm); i += 320 {
		if err := u.Write(pcm[i:min(i+320, len(pcm))]); err != nil {
			return asr.Result{}, verification{}, err
		}
	}
	res, err := u.Finish()
	return res, u.(*utterance).scores, err
}

// intentOf maps a result to the hinted phrase it holds (the longest, so
// "technical support" wins over "support"), with every operator synonym
// mapped to "operator"; "" for a no-match.
func intentOf(res asr.Result) string {
	if res.NoMatch || res.Text == "" {
		return ""
	}
	text := " " + res.Text + " "
	best := ""
	for _, p := range corpusHints.Phrases {
		if strings.Contains(text, " "+p+" ") && len(p) > len(best) {
			best = p
		}
	}
	if slices.Contains(operatorPhrases, best) {
		return "operator"
	}
	return best
}

type outcome struct {
	e   corpusEntry
	res asr.Result
	v   verification
	got string
}

func (o outcome) ok() bool { return o.got == o.e.Expect }

func runCorpus(t *testing.T, r *Recognizer, entries []corpusEntry, segments bool) []outcome {
	out := make([]outcome, len(entries))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, e := range entries {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			pcm := load16k(t, e.File)
			if segments {
				pcm = segmentAudio(pcm, e.Speech)
			}
			res, v, err := recognize(context.Background(), r, corpusHints, pcm)
			if err != nil {
				t.Errorf("%s: %v", e.File, err)
			}
			out[i] = outcome{e: e, res: res, v: v, got: intentOf(res)}
		}()
	}
	wg.Wait()
	return out
}

type tally struct{ ok, n int }

func (c tally) rate() float64 {
	if c.n == 0 {
		return math.NaN()
	}
	return float64(c.ok) / float64(c.n)
}

// TestCorpus measures recognition on the synthetic telephone corpus, fed
// whole ("file") and cut as a VAD would ("vad"), logs a table of rates per
// kind and SNR, and holds the clean and 20 dB rates to their floors.
func TestCorpus(t *testing.T) {
	entries := loadCorpus(t)
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, mode := range []struct {
		name     string
		segments bool
	}{{"file", false}, {"vad", true}} {
		t.Run(mode.name, func(t *testing.T) {
			out := runCorpus(t, r, entries, mode.segments)
			tallies := map[string]*tally{}
			add := func(key string, ok bool) {
				c := tallies[key]
				if c == nil {
					c = &tally{}
					tallies[key] = c
				}
				c.n++
				if ok {
					c.ok++
				}
			}
			var operatorMiss, menuBad, rejectBad []string
			for _, o := range out {
				add(o.e.Kind+" "+o.e.SNR, o.ok())
				line := fmt.Sprintf("%s: %q conf %.2f gap %.0f nomatch %v", o.e.File, o.res.Text, o.res.Confidence, o.v.gap(), o.res.NoMatch) + wordsDump(o.res.Words)
				if os.Getenv("SPHINX_VERBOSE") != "" {
					t.Log(line)
				}
				if o.ok() {
					continue
				}
				switch {
				case o.e.SNR == "10":
				case (o.e.Kind == "intent" || o.e.Kind == "pause") && o.e.Expect == "operator":
					operatorMiss = append(operatorMiss, line)
				case o.e.Kind == "menu" || o.e.Kind == "pause":
					menuBad = append(menuBad, line)
				default:
					rejectBad = append(rejectBad, line)
				}
			}
			keys := make([]string, 0, len(tallies))
			for k := range tallies {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var b strings.Builder
			fmt.Fprintf(&b, "%-18s %8s %6s\n", "kind snr", "correct", "rate")
			for _, k := range keys {
				c := tallies[k]
				fmt.Fprintf(&b, "%-18s %4d/%-3d %5.0f%%\n", k, c.ok, c.n, 100*c.rate())
			}
			t.Logf("accuracy (%s):\n%s", mode.name, b.String())

			op := tally{}
			for _, o := range out {
				if o.e.SNR != "10" && o.e.Expect == "operator" {
					op.n++
					if o.ok() {
						op.ok++
					}
				}
			}
			menu := tally{}
			reject := tally{}
			for _, o := range out {
				if o.e.SNR == "10" {
					continue
				}
				switch {
				case o.e.Kind == "menu" || (o.e.Kind == "pause" && o.e.Expect != "operator"):
					menu.n++
					if o.ok() {
						menu.ok++
					}
				case o.e.Kind == "offgrammar" || o.e.Kind == "distractor" || o.e.Kind == "silence":
					reject.n++
					if o.ok() {
						reject.ok++
					}
				}
			}
			t.Logf("clean+20 dB: operator %d/%d (target all), menu %d/%d (target 95%%), rejected %d/%d (target 80%%)",
				op.ok, op.n, menu.ok, menu.n, reject.ok, reject.n)
			check := func(what string, c tally, floor, target float64, bad []string) {
				switch {
				case c.rate() < floor:
					t.Errorf("%s: %.0f%%, below the floor of %.0f%%:\n%s", what, 100*c.rate(), 100*floor, strings.Join(bad, "\n"))
				case c.rate() < target:
					t.Logf("%s: %.0f%%, short of the %.0f%% target:\n%s", what, 100*c.rate(), 100*target, strings.Join(bad, "\n"))
				}
			}
			check("operator intent found", op, floorOperator, 1, operatorMiss)
			check("menu phrases right", menu, floorMenu, 0.95, menuBad)
			check("off-grammar and distractors rejected", reject, floorReject, 0.8, rejectBad)
		})
	}
}

// The floors TestCorpus holds recognition to on clean and 20 dB files: what
// this backend reliably achieves today, below the product's targets (every
// operator request, 95% of menu answers, 80% of off-grammar speech and
// distractors rejected), which it logs when missed. Raise them as it
// improves. Today: operator 61–62/62, menu 58/62 (file) and 61/62 (vad),
// rejected 14–16/36.
const (
	floorOperator = 0.95
	floorMenu     = 0.90
	floorReject   = 0.35
)

func TestConcurrentUtterances(t *testing.T) {
	entries := loadCorpus(t)
	var files []corpusEntry
	for _, e := range entries {
		if e.SNR == "clean" && (e.Kind == "intent" || e.Kind == "offgrammar") {
			files = append(files, e)
		}
	}
	files = files[:min(8, len(files))]
	r, err := New(Config{Decoders: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// Sequential results first: concurrency and pool reuse must not change
	// them.
	want := make([]asr.Result, len(files))
	pcms := make([][]int16, len(files))
	for i, e := range files {
		pcms[i] = load16k(t, e.File)
		want[i], _, err = recognize(context.Background(), r, corpusHints, pcms[i])
		if err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := range files {
		wg.Go(func() {
			got, _, err := recognize(context.Background(), r, corpusHints, pcms[i])
			if err != nil {
				t.Error(err)
				return
			}
			// A decoder's history must not change what is heard (see
			// TestDecoderHistoryDoesNotMatter); the phone loop's
			// confidence still moves by about 0.01.
			if !sameDecision(got, want[i]) || got.Text != want[i].Text || math.Abs(got.Confidence-want[i].Confidence) > 0.05 {
				t.Errorf("%s: concurrent %+v, sequential %+v", files[i].File, got, want[i])
			}
		})
	}
	wg.Wait()
	st := r.Stats()
	if st.Decoders > 4 || st.InUse != 0 || st.Waiting != 0 || st.Utterances != uint64(2*len(files)) {
		t.Errorf("stats after the run: %+v", st)
	}
}

func TestStartWaitsForAFreeDecoder(t *testing.T) {
	r, err := New(Config{Decoders: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	u, err := r.Start(context.Background(), corpusHints)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := r.Start(ctx, corpusHints); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Start with the only decoder busy: %v, want deadline exceeded", err)
	}
	started := make(chan error, 1)
	go func() {
		u2, err := r.Start(context.Background(), corpusHints)
		if err == nil {
			u2.Close()
		}
		started <- err
	}()
	for r.Stats().Waiting != 1 {
		time.Sleep(time.Millisecond)
	}
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-started; err != nil {
		t.Fatalf("Start after the decoder was freed: %v", err)
	}
	if st := r.Stats(); st.Decoders != 1 || st.InUse != 0 {
		t.Errorf("stats: %+v", st)
	}
}

func TestCloseWakesWaiters(t *testing.T) {
	r, err := New(Config{Decoders: 1})
	if err != nil {
		t.Fatal(err)
	}
	u, err := r.Start(context.Background(), corpusHints)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.Start(context.Background(), corpusHints)
		done <- err
	}()
	for r.Stats().Waiting != 1 {
		time.Sleep(time.Millisecond)
	}
	r.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("waiting Start after Close: %v", err)
	}
	// The utterance in progress still works and frees its decoder.
	if err := u.Write(make([]int16, 320)); err != nil {
		t.Error(err)
	}
	if _, err := u.Finish(); err != nil {
		t.Error(err)
	}
	if st := r.Stats(); st.Decoders != 0 {
		t.Errorf("decoders left after Close and Finish: %d", st.Decoders)
	}
	r.Close()
}

func TestMissingModel(t *testing.T) {
	_, err := New(Config{ModelDir: "/nonexistent/en-us"})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/en-us") || !strings.Contains(err.Error(), "apt-get install pocketsphinx-en-us") {
		t.Errorf("New with a missing model: %v", err)
	}
}

func TestPhrasesOutsideTheDictionary(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	u, err := r.Start(context.Background(), asr.Hints{Phrases: []string{"Billing!", "xyzzyplugh support"}})
	if err != nil {
		t.Fatalf("Start with one usable phrase: %v", err)
	}
	u.Close()
	if _, err := r.Start(context.Background(), asr.Hints{Phrases: []string{"xyzzyplugh", "  ", "?!"}}); err == nil {
		t.Error("Start with no usable phrase succeeded")
	}
	if _, err := r.Start(context.Background(), asr.Hints{}); err == nil {
		t.Error("Start without phrases succeeded")
	}
}

func TestGrammarWordsAreInTheDictionary(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	d := r.idle[0]
	for _, w := range grammarWords() {
		if !d.inDict(w) {
			t.Errorf("grammar word %q is not in the dictionary", w)
		}
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"Technical Support!":   "technical support",
		"  I'd like, please. ": "i'd like please",
		"press 1":              "press one",
		"press 10":             "press ten",
		"option 11":            "option one one",
		"4g":                   "four g",
		"'quoted'":             "quoted",
		"¿Qué?":                "qué",
		"":                     "",
	} {
		if got := strings.Join(normalize(in), " "); got != want {
			t.Errorf("normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOddInput(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for name, pcm := range map[string][]int16{
		"empty":   nil,
		"one":     {1},
		"silence": make([]int16, asr.SampleRate),
		"clipped": slices.Repeat([]int16{32767, -32768}, asr.SampleRate/2),
		"dc":      slices.Repeat([]int16{20000}, asr.SampleRate),
		"long":    make([]int16, maxAudio+asr.SampleRate),
	} {
		res, _, err := recognize(context.Background(), r, corpusHints, pcm)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if intentOf(res) != "" {
			t.Errorf("%s: recognised %q with confidence %.2f", name, res.Text, res.Confidence)
		}
	}
	// Use after Finish, Close twice, a cancelled context.
	u, err := r.Start(context.Background(), corpusHints)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Finish(); err != nil {
		t.Error(err)
	}
	if err := u.Write(make([]int16, 320)); err == nil {
		t.Error("Write after Finish succeeded")
	}
	if _, err := u.Finish(); err == nil {
		t.Error("second Finish succeeded")
	}
	u.Close()
	u.Close()
	ctx, cancel := context.WithCancel(context.Background())
	u, err = r.Start(ctx, corpusHints)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := u.Write(make([]int16, 320)); !errors.Is(err, context.Canceled) {
		t.Errorf("Write after cancel: %v", err)
	}
	if _, err := u.Finish(); err == nil {
		t.Error("Finish after cancel succeeded")
	}
	if st := r.Stats(); st.InUse != 0 {
		t.Errorf("decoders still in use: %+v", st)
	}
}

func TestPartial(t *testing.T) {
	entries := loadCorpus(t)
	i := slices.IndexFunc(entries, func(e corpusEntry) bool {
		return e.Kind == "intent" && e.Text == "talk to an operator please" && e.SNR == "clean"
	})
	if i < 0 {
		t.Fatal("no such corpus file")
	}
	pcm := load16k(t, entries[i].File)
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	u, err := r.Start(context.Background(), corpusHints)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if _, ok := u.Partial(); ok {
		t.Error("partial before any audio")
	}
	var partials []string
	for i := 0; i < len(pcm); i += 320 {
		if err := u.Write(pcm[i:min(i+320, len(pcm))]); err != nil {
			t.Fatal(err)
		}
		if p, ok := u.Partial(); ok && (len(partials) == 0 || partials[len(partials)-1] != p.Text) {
			partials = append(partials, p.Text)
		}
	}
	res, err := u.Finish()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("partials %q, final %q (%.2f), words %+v", partials, res.Text, res.Confidence, res.Words)
	if len(partials) == 0 || !strings.Contains(partials[len(partials)-1], "operator") {
		t.Errorf("partials %q do not reach the operator", partials)
	}
	if len(res.Words) == 0 || res.Words[len(res.Words)-1].End > time.Duration(len(pcm))*time.Second/asr.SampleRate {
		t.Errorf("words %+v", res.Words)
	}
}

// BenchmarkRealTimeFactor measures the CPU cost of recognition per second
// of audio with a node grammar (five phrases and the operator synonyms),
// verification pass included.
func BenchmarkRealTimeFactor(b *testing.B) {
	entries := loadCorpus(b)
	var pcms [][]int16
	var audio time.Duration
	for _, e := range entries {
		if e.SNR == "clean" && (e.Kind == "intent" || e.Kind == "menu") {
			pcm := load16k(b, e.File)
			pcms = append(pcms, pcm)
			audio += time.Duration(len(pcm)) * time.Second / asr.SampleRate
		}
	}
	h := asr.Hints{Phrases: append([]string{"billing", "technical support", "sales", "repeat", "yes"}, operatorPhrases...)}
	r, err := New(Config{Decoders: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	b.ResetTimer()
	start := cpuTime()
	for b.Loop() {
		for _, pcm := range pcms {
			if _, _, err := recognize(context.Background(), r, h, pcm); err != nil {
				b.Fatal(err)
			}
		}
	}
	cpu := cpuTime() - start
	b.ReportMetric(cpu.Seconds()/(audio.Seconds()*float64(b.N)), "rtf")
	b.ReportMetric(0, "ns/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func wordsDump(ws []asr.Word) string {
	var b strings.Builder
	for _, w := range ws {
		fmt.Fprintf(&b, " %s=%.3f/%d", w.Text, w.Confidence, (w.End-w.Start)/frame)
	}
	return b.String()
}

// sameDecision reports whether two results pick the same hinted phrases
// and agree on no-match.
func sameDecision(a, b asr.Result) bool {
	if a.NoMatch != b.NoMatch {
		return false
	}
	for _, p := range corpusHints.Phrases {
		if phrase.Contains(a.Text, p) != phrase.Contains(b.Text, p) {
			return false
		}
	}
	return true
}

// TestVariantProns: a phrase word that starts with S or Z gets an
// alternate pronunciation without it, unless a weak vowel would then start
// it, and a word with IH one with IY for each; lead-ins and other words
// get none.
func TestVariantProns(t *testing.T) {
	d, err := newDecoder(DefaultModelDir, DefaultDict, "")
	if err != nil {
		t.Fatal(err)
	}
	defer d.free()
	d.addVariantProns([]string{"sales please", "technical support", "yes", "zoo", "savings", "billing"})
	d.addVariantProns([]string{"sales", "billing"}) // a second time adds nothing
	for _, c := range []struct{ word, want string }{
		{"sales(2)", "EY L Z"},
		{"savings(2)", "EY V IH NG Z"},
		{"savings(3)", "S EY V IY NG Z"},
		{"technical(2)", "T EH K N IY K AH L"},
		{"billing(2)", "B IY L IY NG"},
	} {
		if got, ok := d.pron(c.word); !ok || got != c.want {
			t.Errorf("%s: %q (%v), want %q", c.word, got, ok, c.want)
		}
	}
	for _, w := range []string{"sales(3)", "support(2)", "please(2)", "yes(2)", "zoo(2)", "technical(3)", "billing(3)", "savings(4)"} {
		if got, ok := d.pron(w); ok {
			t.Errorf("%s added: %q", w, got)
		}
	}
}
