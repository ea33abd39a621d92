//go:build sphinx

// Package sphinx is the pocketsphinx speech backend: Debian's pocketsphinx
// 0.8+5prealpha through cgo, with a JSGF grammar built per utterance from
// the hints (the phrases, each after optional natural lead-ins such as "i'd
// like to talk to"), so it recognises only what the current node expects.
//
// Telephone audio reaches it as G.711 upsampled to 16 kHz; its empty
// 4–8 kHz band is filled with faint noise (dsp.BandFill) before decoding,
// which is what makes the 16 kHz en-us model usable on it.
//
// A grammar decoder always returns some path through the grammar, however
// unlike the audio was. Each result is therefore verified: the same audio
// is decoded again with an unconstrained phone loop, and the grammar path's
// acoustic score per frame of speech is compared with the phone loop's.
// Speech that fits the grammar scores nearly as well as the free phone
// sequence; off-grammar speech and noise score much worse and come back as
// a no-match.
//
// Building needs libpocketsphinx-dev and the model package
// pocketsphinx-en-us, and the build tag sphinx.
package sphinx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/switchboard-voice/switchboard/asr"
)

// Defaults of Config.
const (
	DefaultModelDir = "/usr/share/pocketsphinx/model/en-us/en-us"
	DefaultDict     = "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"
	// DefaultMinConfidence is the confidence below which a result is a
	// no-match, tuned on the speech corpus in testdata/speech.
	DefaultMinConfidence = 0.5
)

// Config configures a Recognizer.
type Config struct {
	// ModelDir is the acoustic model directory; default DefaultModelDir.
	ModelDir string
	// Dict is the pronunciation dictionary; default DefaultDict.
	Dict string
	// PhoneLM is the phone language model of the verification pass;
	// default en-us-phone.lm.bin next to ModelDir. Without it (the file is
	// missing) results are not verified and carry no confidence.
	PhoneLM string
	// Decoders is the pool size: the number of utterances recognised at
	// once (a decoder is not thread-safe); Start waits for a free one.
	// Default 2*GOMAXPROCS.
	Decoders int
	// MinConfidence is the confidence below which a result is a no-match;
	// default DefaultMinConfidence. Negative turns no-match off.
	MinConfidence float64
	// Logger receives warnings (phrases missing from the dictionary);
	// default slog.Default().
	Logger *slog.Logger
}

// Recognizer is the pocketsphinx asr.Recognizer. It is safe for concurrent
// use; decoders are created as needed up to Config.Decoders and reused.
type Recognizer struct {
	cfg Config
	log *slog.Logger

	slots   chan struct{} // one token per decoder in use
	closing chan struct{}

	mu         sync.Mutex
	idle       []*decoder
	created    int
	closed     bool
	waiting    int
	utterances uint64
	words      map[string]bool     // dictionary lookups
	warned     map[string]struct{} // phrases already warned about

	closeOnce sync.Once
}

var _ asr.Recognizer = (*Recognizer)(nil)

// Stats is a snapshot of a Recognizer's decoder pool.
type Stats struct {
	Decoders   int    // created so far (at most Config.Decoders)
	InUse      int    // held by utterances in progress
	Waiting    int    // Start calls waiting for a free decoder
	Utterances uint64 // started since New
}

// New checks that the model files exist and loads the first decoder.
func New(cfg Config) (*Recognizer, error) {
	if cfg.ModelDir == "" {
		cfg.ModelDir = DefaultModelDir
	}
	if cfg.Dict == "" {
		cfg.Dict = DefaultDict
	}
	if cfg.PhoneLM == "" {
		p := filepath.Join(filepath.Dir(filepath.Clean(cfg.ModelDir)), "en-us-phone.lm.bin")
		if _, err := os.Stat(p); err == nil {
			cfg.PhoneLM = p
		}
	}
	if cfg.Decoders <= 0 {
		cfg.Decoders = 2 * runtime.GOMAXPROCS(0)
	}
	if cfg.MinConfidence == 0 {
		cfg.MinConfidence = DefaultMinConfidence
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	for _, p := range []string{filepath.Join(cfg.ModelDir, "mdef"), cfg.Dict} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("sphinx: model file %s: %w (apt-get install pocketsphinx-en-us; building needs libpocketsphinx-dev)", p, err)
		}
	}
	if cfg.PhoneLM != "" {
		if _, err := os.Stat(cfg.PhoneLM); err != nil {
			return nil, fmt.Errorf("sphinx: phone language model: %w", err)
		}
	}
	r := &Recognizer{
		cfg:     cfg,
		log:     cfg.Logger,
		slots:   make(chan struct{}, cfg.Decoders),
		closing: make(chan struct{}),
		words:   make(map[string]bool),
		warned:  make(map[string]struct{}),
	}
	d, err := r.newDecoder()
	if err != nil {
		return nil, err
	}
	r.idle = append(r.idle, d)
	if cfg.PhoneLM != "" && !d.hasPhone {
		r.log.Warn("sphinx: phone loop did not load; results are not verified", "phone_lm", cfg.PhoneLM)
	}
	return r, nil
}

// initMu serialises ps_init: it sets process-wide logging state.
var initMu sync.Mutex

func (r *Recognizer) newDecoder() (*decoder, error) {
	initMu.Lock()
	defer initMu.Unlock()
	d, err := newDecoder(r.cfg.ModelDir, r.cfg.Dict, r.cfg.PhoneLM)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.created++
	r.mu.Unlock()
	return d, nil
}

// ErrClosed is returned by Start after Close.
var ErrClosed = errors.New("sphinx: recognizer closed")

// Start waits for a free decoder (or ctx, or Close) and begins an
// utterance with a grammar of h.Phrases. Phrases with words missing from
// the dictionary are left out (and logged once); it fails only when no
// phrase is left.
func (r *Recognizer) Start(ctx context.Context, h asr.Hints) (asr.Utterance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	r.waiting++
	r.mu.Unlock()
	var err error
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		err = ctx.Err()
	case <-r.closing:
		err = ErrClosed
	}
	r.mu.Lock()
	r.waiting--
	r.mu.Unlock()
	if err != nil {
		return nil, err
	}

	d, err := r.take()
	if err != nil {
		<-r.slots
		return nil, err
	}
	u, err := r.begin(ctx, d, h.Phrases)
	if err != nil {
		r.release(d)
		return nil, err
	}
	return u, nil
}

// take returns an idle decoder or a new one; the caller holds a slot.
func (r *Recognizer) take() (*decoder, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	if n := len(r.idle); n > 0 {
		d := r.idle[n-1]
		r.idle = r.idle[:n-1]
		r.mu.Unlock()
		return d, nil
	}
	r.mu.Unlock()
	return r.newDecoder()
}

// release returns d to the pool, or frees it after Close.
func (r *Recognizer) release(d *decoder) {
	r.mu.Lock()
	if r.closed {
		r.created--
		r.mu.Unlock()
		d.free()
	} else {
		r.idle = append(r.idle, d)
		r.mu.Unlock()
	}
	<-r.slots
}

func (r *Recognizer) begin(ctx context.Context, d *decoder, phrases []string) (*utterance, error) {
	kept := r.inDictionary(d, phraseSet(phrases))
	if len(kept) == 0 {
		return nil, errors.New("sphinx: no hinted phrase has all its words in the dictionary")
	}
	d.addVariantProns(kept)
	if err := d.useGrammar(strings.Join(kept, "|"), buildJSGF(kept)); err != nil {
		return nil, err
	}
	if err := d.start(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.utterances++
	r.mu.Unlock()
	return newUtterance(ctx, r, d), nil
}

// inDictionary keeps the phrases whose words are all in the dictionary,
// warning once per phrase about the others.
func (r *Recognizer) inDictionary(d *decoder, phrases []string) []string {
	kept := phrases[:0]
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range phrases {
		var missing []string
		for _, w := range strings.Fields(p) {
			ok, seen := r.words[w]
			if !seen {
				ok = d.inDict(w)
				r.words[w] = ok
			}
			if !ok {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			kept = append(kept, p)
			continue
		}
		if _, done := r.warned[p]; !done {
			r.warned[p] = struct{}{}
			r.log.Warn("sphinx: phrase left out of the grammar: words not in the dictionary",
				"phrase", p, "missing", strings.Join(missing, " "), "dict", r.cfg.Dict)
		}
	}
	return kept
}

// Stats returns the pool's current figures.
func (r *Recognizer) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Stats{
		Decoders:   r.created,
		InUse:      len(r.slots),
		Waiting:    r.waiting,
		Utterances: r.utterances,
	}
}

// Close frees the idle decoders and makes Start fail; decoders held by
// utterances in progress are freed as those finish. It is idempotent.
func (r *Recognizer) Close() error {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		idle := r.idle
		r.idle = nil
		r.created -= len(idle)
		r.mu.Unlock()
		close(r.closing)
		for _, d := range idle {
			d.free()
		}
	})
	return nil
}
