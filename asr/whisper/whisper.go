//go:build whisper

package whisper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	wcpp "github.com/ggerganov/whisper.cpp/bindings/go"

	"github.com/switchboard-voice/switchboard/asr"
)

var _ asr.Recognizer = (*Recognizer)(nil)

// Whisper wants what the recogniser interface delivers: 16 kHz mono.
var _ = [1]struct{}{}[wcpp.SampleRate-asr.SampleRate]

// Config configures the whisper backend (YAML asr.whisper.*).
type Config struct {
	// Model is the path of a ggml whisper model (ggml-base.en.bin,
	// ggml-small.bin...). Required.
	Model string
	// Threads is the number of CPU threads of one decode. Default
	// min(4, GOMAXPROCS). States×Threads above the number of cores makes
	// every decode slower.
	Threads int
	// Language is the default language of utterances whose hints name
	// none: "auto" (whisper detects it, multilingual models only; costs a
	// little time and misdetects on one-word answers) or a code such as
	// "en" or "ru". Default "auto" (English-only *.en models: "en").
	Language string
	// States is the number of decoding states, i.e. of decodes that run at
	// once; further final decodes queue. Each state holds whisper's caches
	// and buffers (tens of MB for base, hundreds for medium and large).
	// Default GOMAXPROCS/Threads (at least 1), so decodes do not
	// oversubscribe the cores.
	States int
	// MinConfidence: a result whose confidence (geometric mean of its
	// token probabilities) is below it is a no-match. Default 0.4.
	MinConfidence float64
	// NoSpeechThreshold is whisper's no_speech_thold and the no-speech
	// probability above which a segment with unconvincing tokens is
	// dropped. Default 0.6.
	NoSpeechThreshold float64
	// GrammarPenalty is subtracted from the logits of tokens outside the
	// hinted phrases. Default 5: a bias towards the phrases that clear
	// speech of something else still overcomes. Negative: no grammar (the
	// phrases then only go into the initial prompt).
	GrammarPenalty float64
	// PartialInterval is how much new audio triggers a partial decode.
	// Default 500 ms.
	PartialInterval time.Duration
	// Logger receives the backend's and libwhisper's logs. Default: none.
	Logger *slog.Logger
}

func (c *Config) setDefaults() error {
	if c.Model == "" {
		return errors.New("no model configured (asr.whisper.model); see README.md, \"Speech recognition: whisper\"")
	}
	procs := runtime.GOMAXPROCS(0)
	if c.Threads == 0 {
		c.Threads = min(4, procs)
	}
	if c.States == 0 {
		// Decodes at once share the cores: more states than cores/threads
		// only make each slower.
		c.States = max(1, procs/c.Threads)
	}
	if c.Language == "" {
		c.Language = "auto"
	}
	if c.MinConfidence == 0 {
		c.MinConfidence = 0.4
	}
	if c.NoSpeechThreshold == 0 {
		c.NoSpeechThreshold = 0.6
	}
	if c.GrammarPenalty == 0 {
		c.GrammarPenalty = 5
	}
	if c.PartialInterval == 0 {
		c.PartialInterval = 500 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	switch {
	case c.Threads < 0:
		return fmt.Errorf("threads %d < 0", c.Threads)
	case c.States < 0:
		return fmt.Errorf("states %d < 0", c.States)
	case c.MinConfidence > 1:
		return fmt.Errorf("min confidence %v > 1", c.MinConfidence)
	case c.NoSpeechThreshold < 0 || c.NoSpeechThreshold > 1:
		return fmt.Errorf("no-speech threshold %v outside 0..1", c.NoSpeechThreshold)
	case c.PartialInterval < 0:
		return fmt.Errorf("partial interval %v < 0", c.PartialInterval)
	}
	return nil
}

// ErrClosed is returned by Start, and by Finish waiting for a decoding
// state, once the Recognizer is closed.
var ErrClosed = errors.New("whisper: recognizer closed")

// Recognizer is the whisper.cpp asr.Recognizer: one model shared by every
// call, a pool of decoding states and a queue for them. It is safe for
// concurrent use.
type Recognizer struct {
	cfg          Config
	log          *slog.Logger
	model        *model
	multilingual bool
	languages    map[string]bool
	states       []*state
	free         chan *state // idle states; receivers wait in FIFO order

	mu      sync.Mutex
	closed  bool
	closing chan struct{}
	busy    sync.WaitGroup // acquired states and waiters: Close waits for them

	inUse, queued, peakQueued         atomic.Int64
	decodes, partials, partialsBusy   atomic.Uint64
	quietSkips, noMatches, failures   atomic.Uint64
	decodeTime, audioTime, partialDur atomic.Int64 // nanoseconds
}

// New loads cfg.Model and allocates cfg.States decoding states.
func New(cfg Config) (*Recognizer, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, fmt.Errorf("whisper: %w", err)
	}
	if _, err := os.Stat(cfg.Model); err != nil {
		return nil, fmt.Errorf("whisper: model %q: %w; download a ggml model as README.md, \"Speech recognition: whisper\", describes", cfg.Model, err)
	}
	setLibLogger(cfg.Logger)
	start := time.Now()
	m, err := loadModel(cfg.Model)
	if err != nil {
		return nil, fmt.Errorf("whisper: model %q: %w", cfg.Model, err)
	}
	r := &Recognizer{
		cfg:          cfg,
		log:          cfg.Logger,
		model:        m,
		multilingual: m.multilingual(),
		languages:    make(map[string]bool),
		free:         make(chan *state, cfg.States),
		closing:      make(chan struct{}),
	}
	for id := range wcpp.Whisper_lang_max_id() + 1 {
		if s := wcpp.Whisper_lang_str(id); s != "" {
			r.languages[s] = true
		}
	}
	if _, err := resolveLanguage("", cfg.Language, r.multilingual, r.knownLanguage); err != nil {
		m.free()
		return nil, fmt.Errorf("whisper: %w", err)
	}
	for range cfg.States {
		s, err := m.newState()
		if err != nil {
			for _, s := range r.states {
				s.free()
			}
			m.free()
			return nil, fmt.Errorf("whisper: state %d of %d: %w", len(r.states)+1, cfg.States, err)
		}
		r.states = append(r.states, s)
		r.free <- s
	}
	r.log.Info("whisper model loaded", "model", cfg.Model, "multilingual", r.multilingual,
		"language", cfg.Language, "states", cfg.States, "threads", cfg.Threads,
		"took", time.Since(start), "system", strings.TrimSpace(wcpp.Whisper_print_system_info()))
	return r, nil
}

func (r *Recognizer) knownLanguage(code string) bool { return r.languages[code] }

// Close waits for running decodes (aborting them) and queued waiters, then
// frees the states and the model. Utterances still open fail afterwards.
// Close is idempotent.
func (r *Recognizer) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.closing)
	for _, s := range r.states {
		s.setAbort()
	}
	r.mu.Unlock()
	r.busy.Wait()
	for _, s := range r.states {
		s.free()
	}
	r.model.free()
	return nil
}

// Stats are the Recognizer's counters since New.
type Stats struct {
	States      int    // decoding states in the pool
	InUse       int    // states decoding now
	Queued      int    // final decodes waiting for a state now
	PeakQueued  int    // most final decodes ever waiting at once
	Decodes     uint64 // final decodes run
	Partials    uint64 // partial decodes run
	PartialBusy uint64 // partial decodes skipped: no free state
	QuietSkips  uint64 // utterances not decoded: no loud audio
	NoMatches   uint64 // final results that were no-matches (quiet ones included)
	Failures    uint64 // final decodes that failed or were abandoned
	// DecodeTime and AudioTime are the totals over final decodes: their
	// ratio is the real-time factor.
	DecodeTime, AudioTime time.Duration
	PartialTime           time.Duration // total time of partial decodes
}

// Stats returns the current counters.
func (r *Recognizer) Stats() Stats {
	return Stats{
		States:      len(r.states),
		InUse:       int(r.inUse.Load()),
		Queued:      int(r.queued.Load()),
		PeakQueued:  int(r.peakQueued.Load()),
		Decodes:     r.decodes.Load(),
		Partials:    r.partials.Load(),
		PartialBusy: r.partialsBusy.Load(),
		QuietSkips:  r.quietSkips.Load(),
		NoMatches:   r.noMatches.Load(),
		Failures:    r.failures.Load(),
		DecodeTime:  time.Duration(r.decodeTime.Load()),
		AudioTime:   time.Duration(r.audioTime.Load()),
		PartialTime: time.Duration(r.partialDur.Load()),
	}
}

// enter registers a would-be user of a state so that Close waits for it.
func (r *Recognizer) enter() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	r.busy.Add(1)
	return nil
}

// acquire waits, in FIFO order, for a free state, until ctx is done or the
// Recognizer closes. The state must go back by release.
func (r *Recognizer) acquire(ctx context.Context) (*state, error) {
	if err := r.enter(); err != nil {
		return nil, err
	}
	select {
	case s := <-r.free:
		r.inUse.Add(1)
		return s, nil
	default:
	}
	q := r.queued.Add(1)
	for {
		p := r.peakQueued.Load()
		if q <= p || r.peakQueued.CompareAndSwap(p, q) {
			break
		}
	}
	defer r.queued.Add(-1)
	select {
	case s := <-r.free:
		r.inUse.Add(1)
		return s, nil
	case <-ctx.Done():
		r.busy.Done()
		return nil, ctx.Err()
	case <-r.closing:
		r.busy.Done()
		return nil, ErrClosed
	}
}

// tryAcquire returns a free state, or nil when there is none: partial
// decodes are best-effort and never queue.
func (r *Recognizer) tryAcquire() *state {
	if r.enter() != nil {
		return nil
	}
	select {
	case s := <-r.free:
		r.inUse.Add(1)
		return s
	default:
		r.busy.Done()
		return nil
	}
}

func (r *Recognizer) release(s *state) {
	s.clearAbort()
	r.inUse.Add(-1)
	r.free <- s
	r.busy.Done()
}

// Start begins an utterance. It resolves the language (Hints.Language, else
// Config.Language) and turns the phrases into the initial prompt and the
// grammar; it does not wait for a decoding state.
func (r *Recognizer) Start(ctx context.Context, h asr.Hints) (asr.Utterance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	lang, err := resolveLanguage(h.Language, r.cfg.Language, r.multilingual, r.knownLanguage)
	if err != nil {
		return nil, fmt.Errorf("whisper: %w", err)
	}
	phrases := cleanPhrases(h.Phrases)
	u := &utterance{
		r:       r,
		ctx:     ctx,
		phrases: phrases,
		params: decodeParams{
			Threads:        r.cfg.Threads,
			Language:       lang,
			Prompt:         buildPrompt(phrases, lang),
			GrammarPenalty: r.cfg.GrammarPenalty,
			NoSpeech:       r.cfg.NoSpeechThreshold,
		},
		buf:  getBuf(),
		step: int(r.cfg.PartialInterval.Seconds() * asr.SampleRate),
	}
	if r.cfg.GrammarPenalty > 0 {
		u.params.Grammar = buildGrammar(phrases)
	}
	u.pcm = (*u.buf)[:0]
	u.nextPartial = max(minPartialSamples, u.step)
	return u, nil
}

// decode runs one decode on s and turns its segments into a Result.
func (r *Recognizer) decode(ctx context.Context, s *state, pcm []float32, dp decodeParams, phrases []string) (asr.Result, error) {
	if len(pcm) < minDecodeSamples {
		// Whisper decodes nothing under 100 ms and guesses wildly under a
		// second; trailing silence is what it was trained on.
		padded := make([]float32, minDecodeSamples)
		copy(padded, pcm)
		pcm = padded
	}
	dp.AudioCtx = audioCtx(len(pcm))

	// The decode stops at its next computation when ctx ends; live keeps
	// the abort from landing on the state after it has gone back.
	var mu sync.Mutex
	live := true
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		if live {
			s.setAbort()
		}
		mu.Unlock()
	})
	segs, lang, err := r.model.decode(s, pcm, dp)
	mu.Lock()
	live = false
	mu.Unlock()
	stop()
	if err != nil {
		if errors.Is(err, errAborted) && ctx.Err() != nil {
			return asr.Result{}, ctx.Err()
		}
		return asr.Result{}, err
	}
	res := postprocess(segs, filterOptions{
		MinConfidence: r.cfg.MinConfidence,
		NoSpeech:      r.cfg.NoSpeechThreshold,
		Phrases:       phrases,
	})
	if r.log.Enabled(ctx, slog.LevelDebug) {
		var raw strings.Builder
		for _, s := range segs {
			raw.WriteString(s.Text)
		}
		r.log.Debug("whisper decode", "audio", time.Duration(len(pcm))*time.Second/asr.SampleRate,
			"language", lang, "audio_ctx", dp.AudioCtx, "raw", raw.String(), "text", res.Text,
			"confidence", res.Confidence, "no_match", res.NoMatch)
	}
	return res, nil
}

const (
	// minDecodeSamples is the shortest audio handed to whisper (1 s):
	// shorter is padded with silence.
	minDecodeSamples = asr.SampleRate
	// minPartialSamples is the audio before the first partial decode.
	minPartialSamples = asr.SampleRate
	// maxPooledSamples bounds the buffers kept for reuse (60 s).
	maxPooledSamples = 60 * asr.SampleRate
)

// bufs recycles utterance audio buffers (10 s to start with).
var bufs = sync.Pool{New: func() any {
	b := make([]float32, 0, 10*asr.SampleRate)
	return &b
}}

func getBuf() *[]float32 { return bufs.Get().(*[]float32) }

func putBuf(b *[]float32, pcm []float32) {
	if cap(pcm) > maxPooledSamples {
		return
	}
	*b = pcm[:0]
	bufs.Put(b)
}

// utterance is one asr.Utterance. Its methods run on the caller's
// goroutine; the partial decode it owns runs on another and meets them only
// through mu and partialBusy.
type utterance struct {
	r       *Recognizer
	ctx     context.Context // Start's: it bounds the whole utterance (asr.Recognizer)
	phrases []string
	params  decodeParams
	buf     *[]float32
	pcm     []float32 // appended to by Write only
	meter   energyMeter
	step    int // samples of new audio between partial decodes
	// nextPartial is the length of pcm at which a partial decode may start.
	nextPartial int
	done        bool // Finish or Close called

	partialBusy atomic.Bool
	partialWG   sync.WaitGroup

	mu           sync.Mutex
	partialState *state // the running partial decode's, nil when none
	partial      asr.Result
	hasPartial   bool
}

var errDone = errors.New("whisper: utterance already finished or closed")

// Write appends pcm and, every PartialInterval of new audio once there is
// loud audio, starts a partial decode in the background if a state is free.
// It never waits.
func (u *utterance) Write(pcm []int16) error {
	if u.done {
		return errDone
	}
	if err := u.ctx.Err(); err != nil {
		return err
	}
	u.pcm = appendFloat(u.pcm, pcm)
	u.meter.add(pcm)
	if u.step > 0 && len(u.pcm) >= u.nextPartial && u.meter.speech() && !u.partialBusy.Load() {
		u.startPartial()
	}
	return nil
}

func (u *utterance) startPartial() {
	r := u.r
	s := r.tryAcquire()
	if s == nil {
		r.partialsBusy.Add(1)
		u.nextPartial = len(u.pcm) + u.step/5 // look again soon
		return
	}
	u.nextPartial = len(u.pcm) + u.step
	// Write only appends beyond n, so the decode may read pcm[:n] while it
	// does, even if append moves the buffer.
	pcm := u.pcm[:len(u.pcm):len(u.pcm)]
	u.mu.Lock()
	u.partialState = s
	u.mu.Unlock()
	u.partialBusy.Store(true)
	u.partialWG.Add(1)
	go func() {
		defer u.partialWG.Done()
		t := time.Now()
		res, err := r.decode(u.ctx, s, pcm, u.params, u.phrases)
		r.partialDur.Add(int64(time.Since(t)))
		u.mu.Lock()
		u.partialState = nil
		if err == nil {
			u.partial, u.hasPartial = res, true
		}
		u.mu.Unlock()
		r.release(s)
		r.partials.Add(1)
		u.partialBusy.Store(false)
		if err != nil && !errors.Is(err, errAborted) && u.ctx.Err() == nil {
			r.log.Warn("whisper partial decode", "err", err)
		}
	}()
}

// Partial returns the newest partial result.
func (u *utterance) Partial() (asr.Result, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.partial, u.hasPartial
}

// stopPartial aborts the running partial decode, if any, and waits for it:
// its state is better spent on the final decode.
func (u *utterance) stopPartial() {
	u.mu.Lock()
	if u.partialState != nil {
		u.partialState.setAbort()
	}
	u.mu.Unlock()
	u.partialWG.Wait()
}

// Finish decodes the whole utterance, waiting for a state if all are busy.
// Audio without loud frames is a no-match without a decode.
func (u *utterance) Finish() (asr.Result, error) {
	if u.done {
		return asr.Result{}, errDone
	}
	u.done = true
	u.stopPartial()
	defer putBuf(u.buf, u.pcm)
	r := u.r
	if err := u.ctx.Err(); err != nil {
		return asr.Result{}, err
	}
	if !u.meter.speech() {
		r.quietSkips.Add(1)
		r.noMatches.Add(1)
		return asr.Result{NoMatch: true}, nil
	}
	s, err := r.acquire(u.ctx)
	if err != nil {
		r.failures.Add(1)
		if errors.Is(err, ErrClosed) {
			return asr.Result{}, err
		}
		return asr.Result{}, fmt.Errorf("whisper: wait for a decoding state: %w", err)
	}
	t := time.Now()
	p := u.params
	p.Fallback = true
	res, err := r.decode(u.ctx, s, u.pcm, p, u.phrases)
	r.release(s)
	if err != nil {
		r.failures.Add(1)
		if ctxErr := u.ctx.Err(); ctxErr != nil {
			return asr.Result{}, ctxErr
		}
		if errors.Is(err, errAborted) {
			return asr.Result{}, ErrClosed
		}
		return asr.Result{}, fmt.Errorf("whisper: decode: %w", err)
	}
	r.decodes.Add(1)
	r.decodeTime.Add(int64(time.Since(t)))
	r.audioTime.Add(int64(time.Duration(len(u.pcm)) * time.Second / asr.SampleRate))
	if res.NoMatch {
		r.noMatches.Add(1)
	}
	return res, nil
}

// Close abandons the utterance.
func (u *utterance) Close() error {
	if u.done {
		return nil
	}
	u.done = true
	u.stopPartial()
	putBuf(u.buf, u.pcm)
	return nil
}
