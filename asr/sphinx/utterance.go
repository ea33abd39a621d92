//go:build sphinx

package sphinx

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-voice/switchboard/asr"
	"github.com/switchboard-voice/switchboard/internal/dsp"
)

const (
	// frame is pocketsphinx's frame shift.
	frame = 10 * time.Millisecond
	// partialEvery is how much audio passes between partial hypotheses:
	// a search backtrace each 20 ms frame would be wasted work.
	partialEvery = asr.SampleRate / 10
	// maxAudio bounds an utterance (30 s): the endpointer ends turns long
	// before, and the audio is kept for the verification pass.
	maxAudio = 30 * asr.SampleRate
	// bandFillSeed fixes the noise BandFill adds, so that the same audio
	// always gives the same result.
	bandFillSeed = 0x5eed
)

// errDone is returned by the methods of a finished or closed utterance.
var errDone = errors.New("sphinx: utterance already finished")

type utterance struct {
	r    *Recognizer
	d    *decoder
	ctx  context.Context
	fill *dsp.BandFill
	ext  *bandExt

	audio    []int16 // band-filled, as decoded; for the verification pass
	sinceHyp int

	mu      sync.Mutex
	partial asr.Result
	hasPart bool

	released bool
	scores   verification // of the last Finish, for tests
}

var _ asr.Utterance = (*utterance)(nil)

func newUtterance(ctx context.Context, r *Recognizer, d *decoder) *utterance {
	return &utterance{
		r: r, d: d, ctx: ctx,
		fill:  dsp.NewBandFill(bandFillSeed, 0),
		ext:   newBandExt(bandFillSeed + 1),
		audio: d.audio[:0],
	}
}

// Write band-fills and decodes pcm in the calling goroutine: the grammar
// search costs a few per cent of real time, well under a millisecond per
// 20 ms frame. Audio beyond 30 s is ignored.
func (u *utterance) Write(pcm []int16) error {
	if u.released {
		return errDone
	}
	if err := u.ctx.Err(); err != nil {
		u.release()
		return err
	}
	if room := maxAudio - len(u.audio); len(pcm) > room {
		pcm = pcm[:room]
	}
	if len(pcm) == 0 {
		return nil
	}
	n := len(u.audio)
	u.audio = append(u.audio, pcm...)
	chunk := u.audio[n:]
	u.fill.Process(chunk)
	u.ext.process(chunk)
	if err := u.d.process(chunk); err != nil {
		u.release()
		return err
	}
	u.sinceHyp += len(chunk)
	if u.sinceHyp >= partialEvery {
		u.sinceHyp = 0
		if h, _, ok := u.d.hyp(); ok {
			if text := cleanText(strings.Fields(h)); text != "" {
				u.mu.Lock()
				u.partial = asr.Result{Text: text}
				u.hasPart = true
				u.mu.Unlock()
			}
		}
	}
	return nil
}

// Partial returns the hypothesis of the audio so far; it carries no
// confidence (that needs the verification pass of Finish).
func (u *utterance) Partial() (asr.Result, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.partial, u.hasPart
}

// Finish ends the grammar search, verifies its path against a phone loop
// over the same audio and returns the result.
func (u *utterance) Finish() (asr.Result, error) {
	if u.released {
		return asr.Result{}, errDone
	}
	defer u.release()
	if err := u.ctx.Err(); err != nil {
		return asr.Result{}, err
	}
	if err := u.d.end(); err != nil {
		return asr.Result{}, err
	}
	segs := u.d.segments(nil)
	var res asr.Result
	var v verification
	var words []string
	for _, s := range segs {
		v.gramScore += int64(s.ascr)
		w := baseWord(s.word)
		if isFiller(w) {
			continue
		}
		v.speechFrames += s.end - s.start + 1
		if isHesitation(w) {
			continue
		}
		words = append(words, w)
		res.Words = append(res.Words, asr.Word{
			Text:  w,
			Start: time.Duration(s.start) * frame,
			End:   time.Duration(s.end+1) * frame,
		})
	}
	v.frames = u.d.frames()
	res.Text = cleanText(words)
	if res.Text == "" {
		res.NoMatch = len(u.audio) > 0
		return res, nil
	}
	if u.d.hasPhone {
		phones, err := u.phoneLoop()
		if err != nil {
			return asr.Result{}, err
		}
		for _, s := range phones {
			v.phoneScore += int64(s.ascr)
		}
		v.verified = true
		for i := range res.Words {
			res.Words[i].Confidence = wordConfidence(segs, phones, res.Words[i])
		}
	}
	res.Confidence = v.confidence()
	if min := u.r.cfg.MinConfidence; v.verified && min > 0 && res.Confidence < min {
		res.NoMatch = true
	}
	u.scores = v
	return res, nil
}

// phoneLoop decodes the utterance's audio again with the phone loop.
func (u *utterance) phoneLoop() ([]segment, error) {
	d := u.d
	d.current = ""
	if err := d.setSearch(phoneSearch); err != nil {
		return nil, err
	}
	if err := d.start(); err != nil {
		return nil, err
	}
	if err := d.processAll(u.audio); err != nil {
		_ = d.end()
		return nil, err
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	return d.segments(nil), nil
}

// Close abandons the utterance.
func (u *utterance) Close() error {
	if u.released {
		return nil
	}
	u.release()
	return nil
}

func (u *utterance) release() {
	if u.released {
		return
	}
	u.released = true
	if u.d.inUtterance() {
		_ = u.d.end()
	}
	u.d.audio = u.audio[:0]
	u.r.release(u.d)
}

// verification holds the acoustic scores that a result's confidence is
// computed from.
type verification struct {
	gramScore, phoneScore int64 // acoustic log-likelihoods of the whole utterance
	frames                int
	speechFrames          int // of grammar words (not silence or fillers)
	verified              bool
}

// confidenceScale converts the per-frame acoustic score gap between the
// grammar path and the phone loop (in the decoder's log units) into
// confidence: a gap of confidenceScale halves it. With the default
// threshold of 0.5 it is the largest gap accepted; on the corpus, speech in
// the grammar stays under about 65 while off-grammar speech and noise
// spread from 17 to 80, so the gap rejects only the worst of them.
const confidenceScale = 70.0

func (v verification) gap() float64 {
	if v.speechFrames == 0 {
		return math.Inf(1)
	}
	return float64(v.phoneScore-v.gramScore) / float64(v.speechFrames)
}

func (v verification) confidence() float64 {
	if !v.verified {
		return 0
	}
	g := max(v.gap(), 0)
	return math.Exp2(-g / confidenceScale)
}

// wordConfidence compares the word's grammar score with the phone loop's
// over the same frames.
func wordConfidence(segs, phones []segment, w asr.Word) float64 {
	sf, ef := int(w.Start/frame), int(w.End/frame)-1
	var gram, phone int64
	for _, s := range segs {
		if s.start == sf && s.end == ef {
			gram = int64(s.ascr)
		}
	}
	for _, p := range phones {
		lo, hi := max(p.start, sf), min(p.end, ef)
		if hi < lo || p.end < p.start {
			continue
		}
		phone += int64(p.ascr) * int64(hi-lo+1) / int64(p.end-p.start+1)
	}
	n := ef - sf + 1
	if n <= 0 {
		return 0
	}
	g := max(float64(phone-gram)/float64(n), 0)
	return math.Exp2(-g / confidenceScale)
}

// baseWord strips the alternate pronunciation mark: "operator(2)".
func baseWord(w string) string {
	if i := strings.IndexByte(w, '('); i > 0 {
		return w[:i]
	}
	return w
}

func isHesitation(w string) bool { return w == "um" || w == "uh" }

// cleanText joins the words of a hypothesis without alternate
// pronunciation marks, fillers and hesitations.
func cleanText(words []string) string {
	out := words[:0:0]
	for _, w := range words {
		w = baseWord(w)
		if isFiller(w) || isHesitation(w) {
			continue
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}
