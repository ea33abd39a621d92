package replay

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/switchboard-voice/switchboard/asr"
	"github.com/switchboard-voice/switchboard/internal/speech"
	"github.com/switchboard-voice/switchboard/ivr"
	"github.com/switchboard-voice/switchboard/media"
)

// errLimit ends a call that has run into the scenario's max_duration.
var errLimit = errors.New("replay: the call ran past max_duration")

// Heard is one answer the recogniser gave.
type Heard struct {
	Node       string        // the node listening
	At         time.Duration // virtual time the turn ended
	Text       string
	Confidence float64
	NoMatch    bool
	BargedIn   bool // the speech stopped the prompt
}

// Played is one prompt the flow played.
type Played struct {
	Node            string
	At              time.Duration // virtual time it started
	Length, Heard   time.Duration // the prompt's length, and how much of it played
	StoppedBySpeech bool
	StoppedByKey    bool
}

// session is a replayed call: ivr.Call on a virtual clock. Every method
// runs on the engine's goroutine; nothing else touches it.
type session struct {
	info     ivr.Info
	rec      asr.Recognizer
	log      *slog.Logger
	listener *asr.Listener
	caller   *caller
	rules    []TransferRule
	used     []bool

	now   int // frames since the call began
	limit int // frames

	node      string
	entered   map[string]int
	entryTurn map[string]int // listens as each node was last entered
	listen    bool           // in Listen
	listens   int            // Listen calls begun
	pending   []byte         // keys typed during a prompt that could not be interrupted
	gone      bool           // the caller hung up
	ended     bool           // the flow hung up or transferred the call
	hitLimit  bool
	frames    []asr.Frame
	pcm       [frameLen]int16
	heard     []Heard
	played    []Played
	asrErrors []error
}

var _ ivr.Call = (*session)(nil)

func newSession(sc *Scenario, rec asr.Recognizer, clips [][]int16, log *slog.Logger) *session {
	s := &session{
		info: ivr.Info{
			CallID: "replay-" + strings.ReplaceAll(sc.Name, " ", "-"),
			Caller: sc.Caller, Called: sc.Called,
			From: "sip:" + sc.Caller + "@replay", To: "sip:" + sc.Called + "@replay",
		},
		rec:       rec,
		log:       log,
		listener:  asr.NewListener(media.VADConfig{}),
		rules:     sc.Transfers,
		used:      make([]bool, len(sc.Transfers)),
		limit:     frames(sc.MaxDuration),
		entered:   map[string]int{},
		entryTurn: map[string]int{},
	}
	s.caller = newCaller(sc.Steps, clips, s)
	return s
}

// clock is the virtual time.
func (s *session) clock() time.Duration { return time.Duration(s.now) * frameLength }

// enter is the engine's OnNode hook.
func (s *session) enter(id string) {
	s.node = id
	s.entered[id]++
	s.entryTurn[id] = s.listens
}

func (s *session) snapshot() flowSnap {
	return flowSnap{visits: maps.Clone(s.entered), listens: s.listens}
}
func (s *session) visits(node string) int    { return s.entered[node] }
func (s *session) listening() (bool, int)    { return s.listen, s.listens }
func (s *session) enteredAt(node string) int { return s.entryTurn[node] }

func (s *session) Info() ivr.Info { return s.info }

func (s *session) alive(ctx context.Context) error {
	switch {
	case s.gone || s.ended || ctx.Err() != nil:
		return ivr.ErrHangup
	case s.hitLimit:
		return errLimit
	}
	return nil
}

// tick moves the clock on by one frame: the caller's frame goes to the
// listener (its VAD), and the key pressed in it, if any, is returned.
func (s *session) tick(ctx context.Context) (byte, error) {
	if ctx.Err() != nil {
		return 0, ivr.ErrHangup
	}
	if s.now >= s.limit {
		s.hitLimit = true
		return 0, errLimit
	}
	key, hangup := s.caller.frame(s, s.pcm[:])
	if hangup {
		s.gone = true
		s.log.Info("caller hung up")
		return 0, ivr.ErrHangup
	}
	s.listener.Feed(s.pcm[:])
	s.now++
	if key != 0 {
		s.log.Info("dtmf", "key", string(key))
	}
	return key, nil
}

// startTurn begins a turn of listening, or returns nil without a
// recogniser or when the flow asked for keys only. The frames since the
// last turn count as pre-roll, at most speech.PreRollFrames of them.
func (s *session) startTurn(ctx context.Context, sp *ivr.Speech, listen bool, noInput time.Duration, playing bool) *asr.Turn {
	if sp == nil || s.rec == nil {
		return nil
	}
	t := asr.NewTurn(ctx, s.rec, speech.TurnOptions(sp, listen, noInput), playing)
	s.frames = s.listener.Take(s.frames[:0])
	if n := len(s.frames); n > speech.PreRollFrames {
		s.frames = s.frames[n-speech.PreRollFrames:]
	}
	return t
}

// feed gives the turn the frames waiting in the listener.
func (s *session) feed(t *asr.Turn) asr.Action {
	if len(s.frames) == 0 {
		s.frames = s.listener.Take(s.frames[:0])
	}
	var act asr.Action
	for i := range s.frames {
		act |= t.Process(&s.frames[i])
		if act&asr.ActionDone != 0 {
			break
		}
	}
	s.frames = s.frames[:0]
	return act
}

// turnInput turns a finished turn into the flow's input and keeps it.
func (s *session) turnInput(t *asr.Turn) ivr.Input {
	in, err := speech.Input(t, s.log)
	switch {
	case err != nil:
		s.asrErrors = append(s.asrErrors, err)
	case in.Kind == ivr.InputSpeech:
		s.heard = append(s.heard, Heard{Node: s.node, At: s.clock(), Text: in.Text, Confidence: in.Confidence,
			NoMatch: in.NoMatch, BargedIn: in.BargedIn})
	}
	return in
}

// Play plays audio on the virtual clock, one frame per tick, listening as
// opts say: the caller's speech may stop it (and is then heard out), a
// key stops it with DTMFBargeIn and is kept for later without.
func (s *session) Play(ctx context.Context, audio []int16, opts ivr.PlayOptions) (ivr.Input, error) {
	if err := s.alive(ctx); err != nil {
		return ivr.Input{}, err
	}
	if opts.DTMFBargeIn && len(s.pending) > 0 {
		// Keys typed during an announcement that could not be interrupted
		// interrupt this prompt before it starts.
		keys := string(s.pending)
		s.pending = s.pending[:0]
		s.played = append(s.played, Played{Node: s.node, At: s.clock(), Length: samplesDuration(len(audio)), StoppedByKey: true})
		return ivr.Input{Kind: ivr.InputDigits, Digits: keys}, nil
	}
	total := (len(audio) + frameLen - 1) / frameLen
	p := Played{Node: s.node, At: s.clock(), Length: samplesDuration(len(audio))}
	played := 0
	defer func() {
		p.Heard = min(p.Length, time.Duration(played)*frameLength)
		s.played = append(s.played, p)
	}()
	playing := true
	turn := s.startTurn(ctx, opts.Speech, false, 0, true)
	if turn != nil {
		defer turn.Close()
		act := s.feed(turn)
		if act&asr.ActionStopPrompt != 0 {
			playing, p.StoppedBySpeech = false, true
		}
		if act&asr.ActionDone != 0 {
			return s.turnInput(turn), nil
		}
	}
	for {
		if playing && played >= total {
			playing = false
			if turn == nil {
				return ivr.Input{Kind: ivr.InputNone}, nil
			}
			if act := turn.PromptEnded(); act&asr.ActionDone != 0 {
				return s.turnInput(turn), nil
			}
		}
		key, err := s.tick(ctx)
		if err != nil {
			return ivr.Input{}, err
		}
		if playing {
			played++
		}
		if turn != nil {
			act := s.feed(turn)
			if act&asr.ActionStopPrompt != 0 && playing {
				s.log.Info("barge-in", "by", "speech", "after", (time.Duration(played) * frameLength).String())
				playing, p.StoppedBySpeech = false, true
			}
			if act&asr.ActionDone != 0 {
				if key != 0 {
					// The turn took this frame; the key waits for the next
					// prompt or listen, as it would in the media queue.
					s.pending = append(s.pending, key)
				}
				return s.turnInput(turn), nil
			}
		}
		if key != 0 {
			if in, stop := s.keyDuringPrompt(key, opts); stop {
				p.StoppedByKey = playing
				return in, nil
			}
		}
	}
}

func (s *session) keyDuringPrompt(k byte, opts ivr.PlayOptions) (ivr.Input, bool) {
	if opts.DTMFBargeIn {
		keys := string(s.pending) + string(k)
		s.pending = s.pending[:0]
		return ivr.Input{Kind: ivr.InputDigits, Digits: keys}, true
	}
	s.pending = append(s.pending, k)
	return ivr.Input{}, false
}

// Listen collects keys (up to MaxDigits, ended early by a terminator,
// NoInput for the first key and InterDigit between keys) or, with Speech
// and a recogniser, an answer by voice, exactly as sip.Call.Listen does.
func (s *session) Listen(ctx context.Context, opts ivr.ListenOptions) (ivr.Input, error) {
	if err := s.alive(ctx); err != nil {
		return ivr.Input{}, err
	}
	s.listen = true
	s.listens++
	defer func() { s.listen = false }()
	e := speech.NewEntry(opts)
	if opts.Speech != nil && opts.InitialKeys == "" && len(s.pending) == 0 {
		if turn := s.startTurn(ctx, opts.Speech, true, e.NoInput, false); turn != nil {
			in, key, err := s.listenSpeech(ctx, turn)
			if err != nil || key == 0 {
				return in, err
			}
			opts.InitialKeys = string(key)
		}
	}
	early := append([]byte(opts.InitialKeys), s.pending...)
	s.pending = s.pending[:0]
	for _, k := range early {
		e.Add(k)
	}
	deadline := s.now + frames(e.Wait())
	for !e.Done() {
		key, err := s.tick(ctx)
		if err != nil {
			return ivr.Input{}, err
		}
		if key != 0 {
			e.Add(key)
			deadline = s.now + frames(e.Wait())
		}
		if s.now >= deadline {
			e.Timeout()
		}
	}
	s.pending = append(s.pending, e.Rest...)
	return e.Input(), nil
}

// listenSpeech waits for an answer by voice or keys after a prompt. A key
// ends the speech turn and starts key collection with it.
func (s *session) listenSpeech(ctx context.Context, t *asr.Turn) (ivr.Input, byte, error) {
	defer t.Close()
	if act := s.feed(t); act&asr.ActionDone != 0 {
		return s.turnInput(t), 0, nil
	}
	for {
		key, err := s.tick(ctx)
		if err != nil {
			return ivr.Input{}, 0, err
		}
		if act := s.feed(t); act&asr.ActionDone != 0 {
			if key != 0 {
				s.pending = append(s.pending, key)
			}
			return s.turnInput(t), 0, nil
		}
		if key != 0 {
			return ivr.Input{}, key, nil
		}
	}
}

// Hangup ends the call from the flow's side.
func (s *session) Hangup(ctx context.Context) error {
	if !s.gone {
		s.ended = true
	}
	return nil
}

// Transfer answers as the scenario's transfer entries say: the first
// unused one for target, or acceptance. The clock runs for the entry's
// after (a timeout's: the whole timeout) meanwhile; keys pressed then wait
// for the next prompt.
func (s *session) Transfer(ctx context.Context, target string, timeout time.Duration) (ivr.TransferResult, error) {
	if err := s.alive(ctx); err != nil {
		if s.gone {
			return ivr.TransferResult{Outcome: ivr.TransferCallerGone, Reason: "the caller hung up"}, nil
		}
		return ivr.TransferResult{}, err
	}
	rule := TransferRule{Result: "ok"}
	for i, r := range s.rules {
		if !s.used[i] && (r.Target == "" || r.Target == target) {
			s.used[i] = true
			rule = r
			break
		}
	}
	wait := rule.After
	if rule.Result == "timeout" && timeout > 0 {
		wait = max(wait, timeout)
	}
	if wait > 0 {
		for end := s.now + frames(wait); s.now < end; {
			key, err := s.tick(ctx)
			if errors.Is(err, ivr.ErrHangup) && s.gone {
				return ivr.TransferResult{Outcome: ivr.TransferCallerGone, Reason: "the caller hung up"}, nil
			}
			if err != nil {
				return ivr.TransferResult{}, err
			}
			if key != 0 {
				s.pending = append(s.pending, key)
			}
		}
	}
	res := transferResults[rule.Result]
	if res.Outcome == ivr.TransferOK {
		s.ended = true
	}
	return res, nil
}

func samplesDuration(n int) time.Duration { return time.Duration(n) * time.Second / sampleRate }
