// Package asr listens to callers: it runs one turn of listening over a
// call's audio (VAD, barge-in decisions, endpointing, streaming recognition
// with partial results) and declares the Recognizer interface its speech
// backends implement: whisper.cpp (asr/whisper, build tag whisper) and
// pocketsphinx (asr/sphinx, build tag sphinx). Recognition is guided by
// hints (the phrases the current node expects plus the global intents), and
// speech outside them comes back as a no-match, never as a confident guess.
package asr

import (
	"context"
	"time"
)

// SampleRate is the rate of the audio recognisers take.
const SampleRate = 16000

// Hints guide one utterance's recognition.
type Hints struct {
	// Phrases are what the caller is expected to say: the node's choices
	// and their synonyms plus the global intents ("operator", "agent",
	// "repeat"...). A backend may restrict recognition to them (grammar)
	// or bias towards them (initial prompt).
	Phrases []string
	// Language is a BCP 47 language ("en", "ru"), or "" for the backend's
	// configured default (which may be automatic detection).
	Language string
}

// Word is one recognised word with its timing from the utterance start.
type Word struct {
	Text       string
	Start, End time.Duration
	Confidence float64 // 0..1; 0 where the backend does not say
}

// Result is a recognition hypothesis.
type Result struct {
	Text       string  // lower-case words separated by single spaces; "" for nothing
	Confidence float64 // 0..1: how sure the backend is that Text is what was said
	// NoMatch is set when the audio held speech that is not one of the
	// hinted phrases (or could not be recognised well enough): the flow
	// treats it as a no-match, whatever Text says.
	NoMatch bool
	Words   []Word
}

// Recognizer starts utterances. One Recognizer serves every call; it must be
// safe for concurrent use.
type Recognizer interface {
	// Start begins an utterance guided by h. The context bounds the whole
	// utterance: when it is done, Write and Finish return its error.
	Start(ctx context.Context, h Hints) (Utterance, error)
}

// Utterance is one stretch of caller speech being recognised. Its methods
// are called from one goroutine.
type Utterance interface {
	// Write adds mono PCM16 audio at SampleRate, in pieces of any length
	// (20 ms, 320 samples, normally). It must return quickly: a backend
	// that decodes slowly does so in the background.
	Write(pcm []int16) error
	// Partial returns the newest partial hypothesis, and false when there
	// is none yet. It does not block.
	Partial() (Result, bool)
	// Finish ends the audio and returns the final result. The utterance is
	// released; Close after Finish does nothing.
	Finish() (Result, error)
	// Close abandons the utterance (the caller hung up, or the turn ended
	// without needing a result) and releases it.
	Close() error
}
