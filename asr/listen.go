package asr

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/switchboard-voice/switchboard/internal/dsp"
	"github.com/switchboard-voice/switchboard/internal/phrase"
	"github.com/switchboard-voice/switchboard/media"
)

// Frame is one 20 ms frame of a call's inbound audio with the VAD's verdict.
type Frame struct {
	PCM    [media.FrameSamples]int16 // 8 kHz
	Speech bool                      // the VAD's decision, hysteresis applied
	Voiced bool                      // periodic (pitched) sound: a voice, not a cough
	Level  float64                   // dBFS
}

// pendingFrames bounds what a Listener keeps for a turn that is not
// looking: one second.
const pendingFrames = 50

// wakeEvery is how many quiet frames a Listener collects before waking the
// turn; speech wakes it at once.
const wakeEvery = 5

// Listener is a call's ear. The media receive goroutine feeds it every
// inbound frame; it runs the VAD on each (always, prompts playing or not,
// so the noise floor keeps adapting) and keeps the frames until the
// goroutine running a Turn takes them. It wakes that goroutine at once for
// speech and every 100 ms otherwise, so a silent caller costs few wake-ups.
type Listener struct {
	mu      sync.Mutex
	vad     *media.VAD
	ring    [pendingFrames]Frame
	head, n int
	quiet   int // frames since the last wake-up
	dropped int
	wake    chan struct{}
}

// NewListener returns a Listener with its own VAD.
func NewListener(cfg media.VADConfig) *Listener {
	return &Listener{vad: media.NewVAD(cfg), wake: make(chan struct{}, 1)}
}

// Feed takes one inbound 20 ms frame (8 kHz, FrameSamples samples). It
// does not block.
func (l *Listener) Feed(pcm []int16) {
	l.mu.Lock()
	speech := l.vad.Process(pcm)
	voiced, level := l.vad.Voiced(), l.vad.Level()
	if l.n == pendingFrames {
		// Nobody is listening: the oldest frame goes.
		l.head = (l.head + 1) % pendingFrames
		l.n--
		l.dropped++
	}
	f := &l.ring[(l.head+l.n)%pendingFrames]
	copy(f.PCM[:], pcm)
	f.Speech, f.Voiced, f.Level = speech, voiced, level
	l.n++
	l.quiet++
	signal := speech || l.quiet >= wakeEvery
	if signal {
		l.quiet = 0
	}
	l.mu.Unlock()
	if signal {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

// Wake is signalled when frames are waiting.
func (l *Listener) Wake() <-chan struct{} { return l.wake }

// Take appends the waiting frames to dst, oldest first, and forgets them.
func (l *Listener) Take(dst []Frame) []Frame {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ; l.n > 0; l.n-- {
		dst = append(dst, l.ring[l.head])
		l.head = (l.head + 1) % pendingFrames
	}
	// Start again at the ring's first frame, so that a turn that keeps
	// up has Feed write the same few frames, which stay in cache, rather
	// than walk all of the ring.
	l.head = 0
	return dst
}

// Discard forgets the waiting frames: audio from before a turn that must
// not count for it.
func (l *Listener) Discard() {
	l.mu.Lock()
	l.n, l.head = 0, 0
	l.mu.Unlock()
}

// BargeIn says what may interrupt a prompt.
type BargeIn int

const (
	// BargeInSpeech stops the prompt once the caller has spoken (voiced
	// sound) for MinSpeech.
	BargeInSpeech BargeIn = iota
	// BargeInHotword stops it only when a partial result matches an
	// expected phrase or an intent; coughs, "uh-huh" and echo never do.
	BargeInHotword
	// BargeInOff lets the prompt play out; a global intent still stops it.
	BargeInOff
)

func (b BargeIn) String() string {
	switch b {
	case BargeInSpeech:
		return "speech"
	case BargeInHotword:
		return "hotword"
	case BargeInOff:
		return "off"
	}
	return fmt.Sprintf("BargeIn(%d)", int(b))
}

// ParseBargeIn reads "speech", "hotword" or "off".
func ParseBargeIn(s string) (BargeIn, error) {
	switch s {
	case "speech", "":
		return BargeInSpeech, nil
	case "hotword":
		return BargeInHotword, nil
	case "off":
		return BargeInOff, nil
	}
	return 0, fmt.Errorf("barge-in %q is not speech, hotword or off", s)
}

// TurnOptions configures one turn of listening.
type TurnOptions struct {
	Endpoint media.EndpointConfig
	BargeIn  BargeIn
	// Language goes to the recogniser ("" for its default).
	Language string
	// Choices are the node's expected answers, each a list of synonyms.
	// They guide recognition, count as hotwords, and allow the early
	// endpoint when a partial result matches exactly one of them.
	Choices [][]string
	// Intents are the global intents' phrases ("operator", "agent"...):
	// they are always recognised and always interrupt a prompt, whatever
	// BargeIn says.
	Intents [][]string
	// Listen keeps listening after the prompt ends (an ask). Without it
	// the turn ends with the prompt unless the caller is speaking then,
	// whose utterance is heard out (a say).
	Listen bool
	// PreRoll is audio before the detected onset given to the recogniser,
	// so the first syllable is not lost. Default 300 ms.
	PreRoll time.Duration
	// EarlyPause is how long the caller must have paused, with a partial
	// that matches exactly one choice, before the turn ends early rather
	// than after Endpoint.EndSilence. Default 100 ms.
	EarlyPause time.Duration
	// EchoGate is the level (dBFS) sound must reach to count as the
	// caller's speech while a prompt plays: the prompt's own echo from the
	// line comes back some 25 dB down (peaks near -38 dBFS), a caller talking
	// over a prompt is louder (-30 to -15 dBFS). Default -33 dBFS.
	EchoGate float64
}

func (o *TurnOptions) phrases() []string {
	var out []string
	for _, g := range append(o.Choices, o.Intents...) {
		out = append(out, g...)
	}
	return out
}

// Outcome is how a turn ended.
type Outcome int

const (
	// OutcomePromptEnded: a turn without Listen whose prompt played out
	// while the caller said nothing.
	OutcomePromptEnded Outcome = iota
	// OutcomeSpeech: the caller spoke; see TurnResult.Result.
	OutcomeSpeech
	// OutcomeNoInput: nothing was said before Endpoint.NoInput passed.
	OutcomeNoInput
)

func (o Outcome) String() string {
	switch o {
	case OutcomePromptEnded:
		return "prompt-ended"
	case OutcomeSpeech:
		return "speech"
	case OutcomeNoInput:
		return "no-input"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// TurnResult is what a turn heard.
type TurnResult struct {
	Outcome Outcome
	Result  Result // the final recognition, for OutcomeSpeech
	// BargedIn is set when the caller's speech stopped the prompt.
	BargedIn bool
	// Early is set when the turn ended on a matching partial result
	// before the full end-of-speech pause.
	Early bool
	// SpeechStart and SpeechEnd are the utterance's bounds, and Ended the
	// moment the turn decided it was over, all from the turn's start in
	// audio time (frames seen).
	SpeechStart, SpeechEnd, Ended time.Duration
}

// Action tells the turn's driver what to do after a frame: a set of flags.
type Action int

const (
	// ActionNone: carry on.
	ActionNone Action = 0
	// ActionStopPrompt: stop the prompt now (barge-in).
	ActionStopPrompt Action = 1 << iota
	// ActionDone: the turn is over; read Result.
	ActionDone
)

// Turn is one turn of listening: the prompt playing (if any), barge-in,
// the caller's utterance, endpointing and recognition. It is a state
// machine fed frames in order, by a real call's goroutine as they arrive
// or by a replay as fast as it likes: time is counted in frames, so a turn
// decides the same way at any speed.
type Turn struct {
	ctx  context.Context
	rec  Recognizer
	opts TurnOptions
	ep   *media.Endpointer

	pre     [][media.FrameSamples]int16 // the last PreRoll of audio
	preN    int
	frames  int // frames seen
	playing bool
	barged  bool

	utt        Utterance
	confirmed  bool // the endpointer confirmed the current speech
	uttStart   int  // frame of the utterance's first audio (pre-roll included)
	voiced     int  // voiced frames in the current speech
	lastSpeech int  // last frame the VAD called speech
	silentRun  int
	rs         *dsp.Resampler
	up         []int16
	early      bool

	done bool
	res  TurnResult
	err  error
}

// NewTurn starts a turn. playing says whether a prompt is playing as it
// starts; call PromptEnded when it stops by itself.
func NewTurn(ctx context.Context, rec Recognizer, opts TurnOptions, playing bool) *Turn {
	if opts.PreRoll <= 0 {
		opts.PreRoll = 300 * time.Millisecond
	}
	if opts.EarlyPause <= 0 {
		opts.EarlyPause = 100 * time.Millisecond
	}
	if opts.EchoGate == 0 {
		opts.EchoGate = -33
	}
	t := &Turn{
		ctx:     ctx,
		rec:     rec,
		opts:    opts,
		ep:      media.NewEndpointer(opts.Endpoint),
		pre:     make([][media.FrameSamples]int16, max(1, int(opts.PreRoll/media.FrameDuration))),
		playing: playing,
	}
	if !playing && opts.Listen {
		t.ep.StartTimer()
	}
	return t
}

// Err is the recogniser's failure, if the turn ended on one.
func (t *Turn) Err() error { return t.err }

// Result is what the turn heard; valid once an action said ActionDone.
func (t *Turn) Result() TurnResult { return t.res }

// Playing reports whether the turn believes its prompt is still playing.
func (t *Turn) Playing() bool { return t.playing }

func frameTime(n int) time.Duration { return time.Duration(n) * media.FrameDuration }

// PromptEnded tells the turn its prompt played to the end.
func (t *Turn) PromptEnded() Action {
	if t.done || !t.playing {
		return ActionNone
	}
	t.playing = false
	if t.utt != nil {
		return ActionNone // hear the caller out
	}
	if !t.opts.Listen {
		return t.finish(OutcomePromptEnded, Result{})
	}
	t.ep.StartTimer()
	return ActionNone
}

// Process takes one frame and says what to do.
func (t *Turn) Process(f *Frame) Action {
	if t.done {
		return ActionDone
	}
	t.frames++
	copy(t.pre[t.preN%len(t.pre)][:], f.PCM[:])
	t.preN++
	speech := f.Speech
	if t.playing && t.utt == nil && f.Level < t.opts.EchoGate {
		// Too quiet to be someone talking over the prompt: its echo.
		speech = false
	}
	if speech {
		t.lastSpeech = t.frames
		t.silentRun = 0
		if f.Voiced {
			t.voiced++
		}
	} else {
		t.silentRun++
	}

	act := ActionNone
	switch t.ep.Frame(speech) {
	case media.EventSpeechStart:
		t.confirmed = false
		t.voiced = 0
		if f.Voiced {
			t.voiced = 1
		}
		if err := t.startUtterance(); err != nil {
			return t.fail(err)
		}
	case media.EventSpeechConfirmed:
		// Barge-in waits for the voicing count too, below.
		t.confirmed = true
	case media.EventBlip:
		t.dropUtterance()
	case media.EventEnd, media.EventMaxSpeech:
		return t.endUtterance()
	case media.EventNoInput:
		return t.finish(OutcomeNoInput, Result{})
	}
	if t.utt == nil {
		return act
	}
	if err := t.write(f.PCM[:]); err != nil {
		return t.fail(err)
	}
	// Speech barge-in: enough speech, and voiced, not a cough or a breath.
	if t.playing && !t.barged && t.opts.BargeIn == BargeInSpeech && t.confirmed && t.voiced >= minVoiced {
		return t.bargeIn()
	}
	p, ok := t.utt.Partial()
	if !ok || p.NoMatch {
		return act
	}
	if t.playing && !t.barged {
		if len(matchGroups(p.Text, t.opts.Intents)) > 0 ||
			(t.opts.BargeIn == BargeInHotword && len(matchGroups(p.Text, t.opts.Choices)) > 0) {
			return t.bargeIn()
		}
		return act
	}
	// Early endpoint: the answer is already one choice and the caller
	// has paused.
	if frameTime(t.silentRun) >= t.opts.EarlyPause && len(matchGroups(p.Text, append(t.opts.Choices, t.opts.Intents...))) == 1 {
		t.early = true
		return t.endUtterance()
	}
	return act
}

// minVoiced is how many voiced frames speech needs to barge in: 60 ms of
// pitch, which a cough or a breath does not have.
const minVoiced = 3

func (t *Turn) bargeIn() Action {
	t.barged = true
	t.playing = false
	if t.opts.Listen {
		t.ep.StartTimer()
	}
	return ActionStopPrompt
}

// matchGroups returns the indexes of the groups with a phrase in text.
func matchGroups(text string, groups [][]string) []int {
	var out []int
	for i, g := range groups {
		for _, p := range g {
			if phrase.Contains(text, p) {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

func (t *Turn) startUtterance() error {
	t.dropUtterance()
	if phrases := t.opts.phrases(); len(phrases) == 0 {
		// Nothing is expected: the speech can stop a prompt, but whatever
		// it says is no answer, so there is nothing to recognise.
		t.utt = unexpected{}
	} else {
		u, err := t.rec.Start(t.ctx, Hints{Phrases: phrases, Language: t.opts.Language})
		if err != nil {
			return err
		}
		t.utt = u
	}
	if t.rs == nil {
		t.rs = dsp.NewResampler(media.SampleRate, SampleRate)
	} else {
		t.rs.Reset()
	}
	// The pre-roll, oldest first, then (by Process) the current frame.
	n := min(t.preN, len(t.pre)) - 1
	t.uttStart = t.frames - n
	for i := n; i >= 1; i-- {
		if err := t.write(t.pre[(t.preN-1-i)%len(t.pre)][:]); err != nil {
			return err
		}
	}
	return nil
}

func (t *Turn) write(pcm []int16) error {
	t.up = t.rs.Process(t.up[:0], pcm)
	return t.utt.Write(t.up)
}

func (t *Turn) dropUtterance() {
	if t.utt != nil {
		t.utt.Close()
		t.utt = nil
	}
}

// endUtterance gets the final result of the utterance that just ended.
func (t *Turn) endUtterance() Action {
	if t.utt == nil {
		return ActionNone
	}
	u := t.utt
	t.utt = nil
	r, err := u.Finish()
	if err != nil {
		return t.fail(err)
	}
	if t.playing && !t.barged {
		// Talk over a prompt that may not be interrupted: it counts only
		// if it holds an intent (or, in hotword mode, a choice).
		if !r.NoMatch && (len(matchGroups(r.Text, t.opts.Intents)) > 0 ||
			(t.opts.BargeIn == BargeInHotword && len(matchGroups(r.Text, t.opts.Choices)) > 0)) {
			t.barged = true
			t.playing = false
			t.res.SpeechStart, t.res.SpeechEnd = frameTime(t.uttStart), frameTime(t.lastSpeech)
			return ActionStopPrompt | t.finish(OutcomeSpeech, r)
		}
		// Anything else the prompt plays on over: wait for the next one.
		t.ep = media.NewEndpointer(t.opts.Endpoint)
		t.early = false
		return ActionNone
	}
	t.res.SpeechStart, t.res.SpeechEnd = frameTime(t.uttStart), frameTime(t.lastSpeech)
	return t.finish(OutcomeSpeech, r)
}

func (t *Turn) finish(o Outcome, r Result) Action {
	t.done = true
	t.res.Outcome = o
	t.res.Result = r
	t.res.BargedIn = t.barged
	t.res.Early = t.early
	t.res.Ended = frameTime(t.frames)
	return ActionDone
}

func (t *Turn) fail(err error) Action {
	t.dropUtterance()
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		t.err = err
	} else {
		t.err = fmt.Errorf("asr: %w", err)
	}
	t.done = true
	return ActionDone
}

// unexpected is the utterance of a turn that expects no phrase: all
// speech is a no-match.
type unexpected struct{}

func (unexpected) Write([]int16) error     { return nil }
func (unexpected) Partial() (Result, bool) { return Result{}, false }
func (unexpected) Finish() (Result, error) { return Result{NoMatch: true}, nil }
func (unexpected) Close() error            { return nil }

// Done reports whether the turn is over.
func (t *Turn) Done() bool { return t.done }

// Close releases the recogniser's utterance if one is open.
func (t *Turn) Close() { t.dropUtterance() }
