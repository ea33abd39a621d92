package speech

import (
	"strings"
	"time"

	"github.com/switchboard-voice/switchboard/ivr"
)

// Entry collects one entry of keys by a Listen's rules: up to MaxDigits,
// ended early by a terminator (which is not kept). Keys that come after the
// entry is complete are kept in Rest for the next one. Real calls and
// replayed ones share it, and differ only in their clocks.
type Entry struct {
	NoInput    time.Duration // wait for the first key (default 5 s)
	InterDigit time.Duration // wait between keys (default 3 s)
	Rest       []byte        // keys after the entry was complete

	max  int
	term string
	keys []byte
	done bool
}

// NewEntry applies opts' defaults.
func NewEntry(opts ivr.ListenOptions) *Entry {
	e := &Entry{NoInput: opts.NoInput, InterDigit: opts.InterDigit, max: opts.MaxDigits, term: opts.Terminator}
	if e.NoInput <= 0 {
		e.NoInput = 5 * time.Second
	}
	if e.InterDigit <= 0 {
		e.InterDigit = 3 * time.Second
	}
	if e.max <= 0 {
		e.max = 1
	}
	return e
}

// Add takes one key.
func (e *Entry) Add(k byte) {
	if e.done {
		e.Rest = append(e.Rest, k)
		return
	}
	if strings.IndexByte(e.term, k) >= 0 {
		e.done = true
		return
	}
	e.keys = append(e.keys, k)
	if len(e.keys) >= e.max {
		e.done = true
	}
}

// Timeout ends the entry (the wait for the next key ran out).
func (e *Entry) Timeout() { e.done = true }

// Done reports whether the entry is complete.
func (e *Entry) Done() bool { return e.done }

// Wait is how long to wait for the next key: NoInput before the first,
// InterDigit after.
func (e *Entry) Wait() time.Duration {
	if len(e.keys) == 0 {
		return e.NoInput
	}
	return e.InterDigit
}

// Input is the entry as the flow's input: the keys, or a no-input.
func (e *Entry) Input() ivr.Input {
	if len(e.keys) == 0 {
		return ivr.Input{Kind: ivr.InputNoInput}
	}
	return ivr.Input{Kind: ivr.InputDigits, Digits: string(e.keys)}
}
