package whisper

import (
	"math"
	"strings"
	"time"
	"unicode"

	"github.com/switchboard-voice/switchboard/asr"
)

// token is one text token of a decoded segment, as whisper.cpp reports it.
type token struct {
	Text   string  // as in the vocabulary: a leading space starts a word
	P      float64 // probability whisper gave the token
	T0, T1 int64   // centiseconds from the start of the audio; -1 when unknown
}

// segment is one decoded segment: whisper's text, its no-speech probability
// and its text tokens (special and timestamp tokens already removed).
type segment struct {
	Text     string
	NoSpeech float64
	Tokens   []token
}

// filterOptions are the thresholds of postprocess.
type filterOptions struct {
	// MinConfidence: text whose confidence is below it is a no-match.
	MinConfidence float64
	// NoSpeech: a segment whose no-speech probability is above it and
	// whose tokens are not convincing (mean log p below -0.5) is dropped;
	// above (1+NoSpeech)/2 it is dropped whatever its tokens say.
	NoSpeech float64
	// Phrases are the hinted phrases, normalised: text equal to one of them
	// is never treated as a hallucination, even "thank you".
	Phrases []string
}

// postprocess turns whisper's segments into a Result, applying the guards
// against whisper's hallucinations: segments whisper thinks are not speech,
// non-speech markers ("[BLANK_AUDIO]", "(music)"), known silence
// hallucinations, a segment repeating the previous one, repetition loops and
// low confidence. Everything but low confidence yields an empty no-match.
func postprocess(segs []segment, o filterOptions) asr.Result {
	var words []wordTok
	prev := ""
	for _, s := range segs {
		if silentSegment(s, o.NoSpeech) {
			continue
		}
		ws := segmentWords(s.Tokens)
		if len(ws) == 0 {
			continue
		}
		text := joinWords(ws)
		if text == prev {
			continue // whisper looping over windows
		}
		prev = text
		if isHallucination(text, o.Phrases) {
			continue
		}
		words = append(words, ws...)
	}
	if len(words) == 0 {
		return asr.Result{NoMatch: true}
	}
	texts := make([]string, len(words))
	for i, w := range words {
		texts[i] = w.Text
	}
	keep := collapseRepeats(texts)
	if looped(len(texts), len(keep)) {
		return asr.Result{NoMatch: true}
	}
	res := asr.Result{Words: make([]asr.Word, 0, len(keep))}
	var sumLog float64
	var n int
	for _, i := range keep {
		w := words[i]
		res.Words = append(res.Words, asr.Word{
			Text:       w.Text,
			Start:      centis(w.T0),
			End:        centis(w.T1),
			Confidence: math.Exp(w.SumLog / float64(w.N)),
		})
		sumLog += w.SumLog
		n += w.N
	}
	texts = texts[:0]
	for _, w := range res.Words {
		texts = append(texts, w.Text)
	}
	res.Text = strings.Join(texts, " ")
	// The geometric mean of token probabilities (exp of the mean log p):
	// one badly heard token drags it down more than an arithmetic mean.
	res.Confidence = math.Exp(sumLog / float64(n))
	if isHallucination(res.Text, o.Phrases) || res.Confidence < o.MinConfidence {
		res.NoMatch = true
	}
	return res
}

func centis(cs int64) time.Duration {
	if cs < 0 {
		return 0
	}
	return time.Duration(cs) * 10 * time.Millisecond
}

// silentSegment applies OpenAI's no-speech rule (no-speech probability high
// and the tokens unconvincing), a little stricter than whisper.cpp's own,
// plus a cut-off where the no-speech probability alone decides.
func silentSegment(s segment, thold float64) bool {
	if len(s.Tokens) == 0 {
		return true
	}
	if s.NoSpeech > (1+thold)/2 {
		return true
	}
	return s.NoSpeech > thold && meanLogP(s.Tokens) < -0.5
}

func meanLogP(ts []token) float64 {
	var sum float64
	for _, t := range ts {
		sum += logP(t.P)
	}
	return sum / float64(len(ts))
}

func logP(p float64) float64 {
	return math.Log(min(max(p, 1e-6), 1))
}

// wordTok is a normalised word assembled from tokens.
type wordTok struct {
	Text   string
	T0, T1 int64
	SumLog float64 // sum of the log p of its tokens
	N      int     // tokens
}

// segmentWords assembles tokens into normalised words: a token starting
// with a space starts a word; text inside [...], (...) or *...* is a
// non-speech marker ("[BLANK_AUDIO]", "(music)", "*sighs*") and is dropped;
// punctuation goes, and its tokens count neither for timing nor confidence.
func segmentWords(ts []token) []wordTok {
	var out []wordTok
	var cur strings.Builder
	var w wordTok
	depth, star := 0, false
	flush := func() {
		for _, f := range normalizeWords(cur.String()) {
			out = append(out, wordTok{Text: f, T0: w.T0, T1: w.T1, SumLog: w.SumLog, N: w.N})
		}
		cur.Reset()
		w = wordTok{}
	}
	for _, t := range ts {
		if strings.HasPrefix(t.Text, " ") && cur.Len() > 0 {
			flush()
		}
		kept := false
		for _, r := range t.Text {
			switch {
			case r == '[' || r == '(':
				depth++
			case r == ']' || r == ')':
				depth = max(depth-1, 0)
			case r == '*':
				star = !star
			case depth == 0 && !star:
				cur.WriteRune(r)
				kept = kept || unicode.IsLetter(r) || unicode.IsDigit(r)
			}
		}
		if !kept {
			continue
		}
		if w.N == 0 {
			w.T0 = t.T0
		}
		w.T1 = t.T1
		w.SumLog += logP(t.P)
		w.N++
	}
	flush()
	return out
}

func joinWords(ws []wordTok) string {
	var b strings.Builder
	for i, w := range ws {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w.Text)
	}
	return b.String()
}

// normalizeWords splits s into lower-case words of letters and digits,
// keeping apostrophes inside words ("don't") and dropping other punctuation.
func normalizeWords(s string) []string {
	fs := strings.FieldsFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '’'
	})
	out := fs[:0]
	for _, f := range fs {
		f = strings.Trim(strings.ReplaceAll(f, "’", "'"), "'")
		if f != "" {
			out = append(out, strings.ToLower(f))
		}
	}
	return out
}

// normalize is normalizeWords joined by single spaces: the form of
// Result.Text.
func normalize(s string) string {
	return strings.Join(normalizeWords(s), " ")
}

// hallucinations are whole texts whisper produces on silence, noise, music
// and hold tones (normalised). Most come from subtitles in its training
// data. A caller who really says "thank you" gets a no-match: in an IVR that
// costs a re-prompt, a hallucinated "yes" would cost much more.
var hallucinations = map[string]bool{
	"you":                     true,
	"thank you":               true,
	"thank you very much":     true,
	"thanks":                  true,
	"thank you so much":       true,
	"thanks for watching":     true,
	"thank you for watching":  true,
	"thanks for listening":    true,
	"thank you for listening": true,
	"bye":                     true,
	"bye bye":                 true,
	"okay":                    true,
	"oh":                      true,
	"uh":                      true,
	"um":                      true,
	"hmm":                     true,
	"so":                      true,
	"the end":                 true,
	"blank audio":             true,
	"music":                   true,
	"silence":                 true,
	"applause":                true,
	"laughter":                true,
	"продолжение следует":     true,
	"спасибо":                 true,
	"спасибо за внимание":     true,
	"спасибо за просмотр":     true,
	"до свидания":             true,
	"до новых встреч":         true,
	"пока":                    true,
	"угу":                     true,
}

// hallucinationParts mark a text as a hallucination wherever they occur:
// subtitle credits and channel outros that no caller says.
var hallucinationParts = []string{
	"subtitles by",
	"subtitled by",
	"captions by",
	"amara org",
	"thanks for watching",
	"thank you for watching",
	"please subscribe",
	"like and subscribe",
	"subscribe to",
	"www ",
	"субтитр",
	"редактор субтитров",
	"корректор",
	"подписывайтесь",
	"ставьте лайк",
	"dimatorzok",
}

// isHallucination reports whether normalised text is one of whisper's known
// silence hallucinations, unless it is a hinted phrase.
func isHallucination(text string, phrases []string) bool {
	for _, p := range phrases {
		if text == p {
			return false
		}
	}
	if hallucinations[text] {
		return true
	}
	for _, p := range hallucinationParts {
		if strings.Contains(text, p) {
			return true
		}
	}
	return false
}

// collapseRepeats finds n-grams repeated back to back and keeps one copy of
// each run, returning the indexes of the words kept. Runs count when a word
// or short phrase comes three or more times ("no no" and "one two one two"
// are ordinary speech, "operator operator operator" is kept as one
// "operator"), or a phrase of four words or more comes twice (whisper's
// loops; people rarely say a whole sentence twice in one breath).
func collapseRepeats(words []string) []int {
	const maxN = 8
	keep := make([]int, 0, len(words))
	for i := 0; i < len(words); {
		skipped := false
		for n := min(maxN, (len(words)-i)/2); n >= 1; n-- {
			copies := 1
			for j := i + n; j+n <= len(words) && equalWords(words[i:i+n], words[j:j+n]); j += n {
				copies++
			}
			if copies >= 3 || (copies >= 2 && n >= 4) {
				for k := i; k < i+n; k++ {
					keep = append(keep, k)
				}
				i += copies * n
				skipped = true
				break
			}
		}
		if !skipped {
			keep = append(keep, i)
			i++
		}
	}
	return keep
}

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// looped reports whether repetition dominates a text of total words of
// which kept survived collapseRepeats: whisper stuck in a loop, not a caller
// repeating themselves.
func looped(total, kept int) bool {
	removed := total - kept
	return removed >= 6 && removed >= 2*kept
}

// Frame size and thresholds of the energy guard: a frame is loud when its
// RMS is above quietRMS (about -41 dBFS; line noise on a quiet phone call is
// below -50 dBFS, speech above -35 dBFS), and an utterance is worth decoding
// once it has minLoudFrames of them (100 ms).
const (
	energyFrame   = asr.SampleRate / 50 // 20 ms
	quietRMS      = 300.0
	minLoudFrames = 5
)

// energyMeter counts loud 20 ms frames in PCM written in pieces of any
// length. It does not allocate.
type energyMeter struct {
	sum  float64 // sum of squares of the current frame
	n    int     // samples in the current frame
	loud int     // loud frames so far
}

func (m *energyMeter) add(pcm []int16) {
	const thold = quietRMS * quietRMS * energyFrame
	for _, s := range pcm {
		v := float64(s)
		m.sum += v * v
		m.n++
		if m.n == energyFrame {
			if m.sum >= thold {
				m.loud++
			}
			m.sum, m.n = 0, 0
		}
	}
}

// speech reports whether enough loud audio has been seen to be worth a
// decode.
func (m *energyMeter) speech() bool { return m.loud >= minLoudFrames }

// appendFloat appends PCM16 to dst as the float32 in [-1, 1) that whisper
// takes.
func appendFloat(dst []float32, pcm []int16) []float32 {
	for _, s := range pcm {
		dst = append(dst, float32(s)/32768)
	}
	return dst
}
