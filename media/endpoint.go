package media

import "time"

// EndpointConfig sets the timing of one listening turn. Zero fields take
// the defaults given with them.
type EndpointConfig struct {
	// NoInput is how long after StartTimer (the prompt has ended) the turn
	// gives up if the caller has not spoken; default 5 s.
	NoInput time.Duration
	// EndSilence is the pause that ends an utterance; default 700 ms.
	// People pause for 200–500 ms inside a sentence (to breathe, to find a
	// word); 700 ms lets them without making the caller wait long for the
	// answer once they have finished.
	EndSilence time.Duration
	// MaxSpeech caps one utterance, measured from its first speech frame;
	// default 15 s. A caller on a noisy line or talking to someone else
	// would otherwise hold the turn for ever.
	MaxSpeech time.Duration
	// MinSpeech is how much speech (frames the VAD calls speech) an
	// utterance needs to count; default 250 ms, at least 40 ms. It is the barge-in point
	// for prompts in speech mode, and what tells a word from a click or a
	// lip smack. A short "no" is some 300 ms.
	MinSpeech time.Duration
}

func (c EndpointConfig) withDefaults() EndpointConfig {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.NoInput, 5*time.Second)
	def(&c.EndSilence, 700*time.Millisecond)
	def(&c.MaxSpeech, 15*time.Second)
	def(&c.MinSpeech, 250*time.Millisecond)
	return c
}

// Preset returns the EndpointConfig for what a node expects the caller to
// say, and whether name is known:
//
//   - "yes_no": a word or two. EndSilence 500 ms, since nobody pauses
//     inside "yes" and a quick reply deserves a quick response; MaxSpeech
//     5 s (a longer answer is not a yes or a no and is better cut short
//     and asked again); NoInput 5 s; MinSpeech 200 ms so that a clipped
//     "no" or "yep" is not thrown away as a blip.
//   - "digits": account or phone numbers said digit by digit. EndSilence
//     1 s, because people read numbers in groups and pause between them
//     (often to look at the card); MaxSpeech 15 s, enough for 16 digits
//     at a careful pace; NoInput 5 s.
//   - "menu": one of a few options. EndSilence 700 ms, MaxSpeech 10 s,
//     NoInput 5 s: the defaults, with a shorter cap since an option is a
//     short phrase.
//   - "free_text": describe the problem in your own words. EndSilence
//     1.2 s, since people think while they talk and cutting them off is
//     what callers hate most; MaxSpeech 30 s; NoInput 7 s, as an open
//     question takes longer to start answering.
func Preset(name string) (EndpointConfig, bool) {
	const ms = time.Millisecond
	switch name {
	case "yes_no":
		return EndpointConfig{NoInput: 5 * time.Second, EndSilence: 500 * ms, MaxSpeech: 5 * time.Second, MinSpeech: 200 * ms}, true
	case "digits":
		return EndpointConfig{NoInput: 5 * time.Second, EndSilence: 1000 * ms, MaxSpeech: 15 * time.Second, MinSpeech: 250 * ms}, true
	case "menu":
		return EndpointConfig{NoInput: 5 * time.Second, EndSilence: 700 * ms, MaxSpeech: 10 * time.Second, MinSpeech: 250 * ms}, true
	case "free_text":
		return EndpointConfig{NoInput: 7 * time.Second, EndSilence: 1200 * ms, MaxSpeech: 30 * time.Second, MinSpeech: 250 * ms}, true
	}
	return EndpointConfig{}, false
}

// Event is what an Endpointer's Frame reports.
type Event int

// The events of a listening turn. EventEnd, EventNoInput and EventMaxSpeech
// end the turn: Frame reports nothing more until Reset.
const (
	// EventNone: nothing new.
	EventNone Event = iota
	// EventSpeechStart: the first speech frame of a possible utterance.
	EventSpeechStart
	// EventSpeechConfirmed: MinSpeech of speech reached. It is the
	// barge-in point for prompts in speech mode.
	EventSpeechConfirmed
	// EventEnd: EndSilence of pause after confirmed speech, or EndNow.
	EventEnd
	// EventNoInput: NoInput passed since StartTimer without confirmed
	// speech.
	EventNoInput
	// EventMaxSpeech: the utterance reached MaxSpeech.
	EventMaxSpeech
	// EventBlip: speech that ended (EndSilence of pause) before reaching
	// MinSpeech. It is ignored and the turn waits for speech again; the
	// no-input timer was not stopped by it.
	EventBlip
)

var eventNames = [...]string{"none", "speech_start", "speech_confirmed", "end", "no_input", "max_speech", "blip"}

// String returns the event's name in snake_case, as logs and call records
// show it.
func (e Event) String() string {
	if e >= 0 && int(e) < len(eventNames) {
		return eventNames[e]
	}
	return "event(?)"
}

type epState uint8

const (
	epWaiting epState = iota
	epStarted         // speech seen, MinSpeech not yet reached
	epConfirmed
	epDone
)

// Endpointer turns a VAD's per-frame decisions into the events of one
// listening turn. Time is counted in frames of FrameDuration, so the same
// audio always gives the same events. It is not safe for concurrent use;
// Frame does not allocate.
//
// EventEnd comes on the EndSilence-th frame the VAD calls silence, that is
// EndSilence after the end of the last frame it called speech. Measured
// from the true end of speech on the synthetic corpus with the default VAD
// and EndSilence 700 ms, the delay is 719–744 ms clean (median 729: the
// frame in which speech ends, and one frame of hangover), 609–776 ms at
// 20 dB SNR (median 713) and 563–809 ms at 10 dB (median 723), where the
// VAD's hangover grows to stand for word endings hidden in the noise but
// cannot know how long they were.
type Endpointer struct {
	noInput, endSilence, maxSpeech, minSpeech int // in frames

	state      epState
	frames     int
	timerOn    bool
	timerStart int
	endNow     bool
	start      int // frame of the current speech's first speech frame
	speechN    int // speech frames since start
	silence    int // consecutive non-speech frames
}

// durFrames converts d to a whole number of frames, at least one.
func durFrames(d time.Duration) int {
	return max(1, int((d+FrameDuration/2)/FrameDuration))
}

// NewEndpointer returns an Endpointer for one turn, configured by cfg with
// its zero fields defaulted. Its no-input timer is not running.
func NewEndpointer(cfg EndpointConfig) *Endpointer {
	cfg = cfg.withDefaults()
	e := &Endpointer{
		noInput:    durFrames(cfg.NoInput),
		endSilence: durFrames(cfg.EndSilence),
		maxSpeech:  durFrames(cfg.MaxSpeech),
		// Two frames at least, so that SpeechStart and SpeechConfirmed
		// are separate events.
		minSpeech: max(2, durFrames(cfg.MinSpeech)),
	}
	e.Reset()
	return e
}

// Reset starts a new turn with the same configuration: the frame count
// restarts at 0 and the no-input timer is stopped.
func (e *Endpointer) Reset() {
	*e = Endpointer{noInput: e.noInput, endSilence: e.endSilence, maxSpeech: e.maxSpeech, minSpeech: e.minSpeech, start: -1}
}

// StartTimer starts the no-input timer at the current frame; call it when
// the prompt ends. Speech that started before, while the prompt played
// (barge-in), is input all the same. Calling it again restarts the timer.
func (e *Endpointer) StartTimer() {
	e.timerOn, e.timerStart = true, e.frames
}

// EndNow asks for the utterance to end early, as when a partial result
// already matches exactly one expected phrase: the next Frame returns
// EventEnd, whatever the audio.
func (e *Endpointer) EndNow() { e.endNow = true }

// SpeechStart returns the index of the frame where the current (or last)
// speech started, for the pre-roll to count back from, or −1 if there has
// been none. It is the first frame the VAD called speech; the speech itself
// began the VAD's onset run earlier (VAD.OnsetFrame).
func (e *Endpointer) SpeechStart() int { return e.start }

// Frames returns how many frames the Endpointer has seen since NewEndpointer
// or Reset.
func (e *Endpointer) Frames() int { return e.frames }

// Frame takes the VAD's decision for the next 20 ms frame and returns the
// event it causes, if any.
func (e *Endpointer) Frame(speech bool) Event {
	idx := e.frames
	e.frames++
	if e.state == epDone {
		return EventNone
	}
	if e.endNow {
		e.state = epDone
		return EventEnd
	}
	if speech {
		e.silence = 0
	} else {
		e.silence++
	}
	switch e.state {
	case epWaiting:
		if speech {
			e.state, e.start, e.speechN = epStarted, idx, 1
			return EventSpeechStart
		}
		if e.timerOn && e.frames-e.timerStart >= e.noInput {
			e.state = epDone
			return EventNoInput
		}
	case epStarted:
		if speech {
			e.speechN++
			if e.speechN >= e.minSpeech {
				e.state = epConfirmed
				return EventSpeechConfirmed
			}
		} else if e.silence >= e.endSilence {
			e.state = epWaiting
			return EventBlip
		}
	case epConfirmed:
		if speech {
			e.speechN++
		}
		if e.silence >= e.endSilence {
			e.state = epDone
			return EventEnd
		}
		if e.frames-e.start >= e.maxSpeech {
			e.state = epDone
			return EventMaxSpeech
		}
	}
	return EventNone
}

// Confirmed reports whether the current utterance has reached MinSpeech
// and the turn has not ended.
func (e *Endpointer) Confirmed() bool { return e.state == epConfirmed }
