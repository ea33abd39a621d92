package ivr

import (
	"context"
	"errors"
	"time"
)

// ErrHangup is returned by Call methods once the caller has hung up or the
// call has otherwise ended; the engine stops walking the flow.
var ErrHangup = errors.New("ivr: call ended")

// Info identifies a call to the flow and to every log line about it.
type Info struct {
	CallID     string // SIP Call-ID
	From       string // From URI as received
	To         string // To URI as received
	RequestURI string // Request-URI of the INVITE
	Caller     string // caller number/user (user part of From, or P-Asserted-Identity)
	Called     string // dialled number/user (user part of the Request-URI)
}

// InputKind says what ended a Play or a Listen.
type InputKind int

const (
	// InputNone: the prompt played to its end and nothing was received.
	InputNone InputKind = iota
	// InputDigits: the caller pressed keys (Input.Digits).
	InputDigits
	// InputNoInput: Listen's timeout passed with nothing from the caller.
	InputNoInput
	// InputSpeech: the caller spoke (Input.Text, Confidence, NoMatch).
	InputSpeech
)

func (k InputKind) String() string {
	switch k {
	case InputNone:
		return "none"
	case InputDigits:
		return "digits"
	case InputNoInput:
		return "no-input"
	case InputSpeech:
		return "speech"
	}
	return "unknown"
}

// Input is what the caller did.
type Input struct {
	Kind   InputKind
	Digits string // keys pressed, in order, without the terminator

	// Speech (InputSpeech).
	Text       string  // what was recognised, lower case
	Confidence float64 // 0..1
	// NoMatch: speech that is none of the expected phrases, or that could
	// not be recognised well enough; the flow treats it as a no-match.
	NoMatch bool
	// BargedIn: the caller's speech stopped the prompt.
	BargedIn bool
}

// Speech says how to listen for the caller's voice during a Play or a
// Listen. Keys are always accepted too.
type Speech struct {
	BargeIn BargeIn
	// Choices are the phrases the node expects, one group of synonyms per
	// choice; they guide recognition, count as hotwords and allow an
	// answer to end early once it matches exactly one choice.
	Choices [][]string
	// Intents are phrases that interrupt any prompt (global intents).
	Intents [][]string
	// Endpoint names a preset (menu, yes_no, digits, free_text; "" is
	// menu); EndSilence and MaxSpeech override it when not zero.
	Endpoint              string
	EndSilence, MaxSpeech time.Duration
	Language              string // "" for the recogniser's default
}

// PlayOptions controls one prompt.
type PlayOptions struct {
	// DTMFBargeIn stops the prompt at the first key pressed; the key is
	// returned as Input and is not lost.
	DTMFBargeIn bool
	// Speech, when set, listens to the caller during the prompt: by its
	// BargeIn mode their voice may stop the prompt, and an utterance begun
	// during the prompt is heard out and returned as InputSpeech. Nil
	// listens for keys only.
	Speech *Speech
}

// ListenOptions controls one turn of collecting input after a prompt.
type ListenOptions struct {
	NoInput     time.Duration // wait for the first key; 0 means 5 s
	InterDigit  time.Duration // wait between keys; 0 means 3 s
	MaxDigits   int           // stop after this many keys; 0 means 1
	Terminator  string        // keys that end entry early (e.g. "#"); not returned
	InitialKeys string        // keys already pressed during the prompt
	// InitialKeys count toward MaxDigits and begin the returned Input.Digits:
	// Listen returns the whole entry, not only the keys it collected itself.
	// The engine calls Listen only when InitialKeys don't complete an entry.
	// Speech, when set, also listens for an answer by voice; NoInput is
	// then the time to wait for the caller to start speaking or pressing.
	Speech *Speech
}

// Call is what the engine drives. sip+media implement it for real calls; a
// replay session implements it for tests. Audio is 8 kHz mono PCM16.
type Call interface {
	Info() Info
	// Play sends audio to the caller and returns when it has played out, or
	// earlier when opts allow an interruption and the caller interrupts.
	// A key that stops the prompt is returned as Input{Kind: InputDigits}.
	Play(ctx context.Context, audio []int16, opts PlayOptions) (Input, error)
	// Listen waits for the caller's input according to opts.
	Listen(ctx context.Context, opts ListenOptions) (Input, error)
	// Hangup ends the call (BYE) and returns once it has ended.
	Hangup(ctx context.Context) error
	// Transfer hands the call to target (a SIP URI from the flow) and
	// waits, up to timeout, for the transfer's final result. On success
	// the call has left the flow.
	Transfer(ctx context.Context, target string, timeout time.Duration) (TransferResult, error)
}

// TransferOutcome is how a transfer attempt ended.
type TransferOutcome int

const (
	TransferOK         TransferOutcome = iota + 1 // the target took the call
	TransferFailed                                // the target could not be reached (busy, declined...)
	TransferRejected                              // the caller's side refused to transfer
	TransferTimeout                               // no final answer in time
	TransferCallerGone                            // the caller hung up meanwhile
)

func (o TransferOutcome) String() string {
	switch o {
	case TransferOK:
		return "transferred"
	case TransferFailed:
		return "failed"
	case TransferRejected:
		return "rejected"
	case TransferTimeout:
		return "timeout"
	case TransferCallerGone:
		return "caller_gone"
	}
	return "unknown"
}

// TransferResult is one transfer attempt's result.
type TransferResult struct {
	Outcome TransferOutcome
	Status  int    // the SIP status that decided it (sipfrag or REFER response); 0 if none
	Reason  string // its reason phrase, or why there was none
}
