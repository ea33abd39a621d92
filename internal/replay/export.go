package replay

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/switchboard-voice/switchboard/ivr"
)

// This file lets a caller on a real line (internal/sipcall) play a
// scenario exactly as a replay does: the same audio timeline, frame by
// frame, the same wait semantics over what it can see of the flow, and the
// same expectation checks and failure diffs.

// FlowView is what a caller on a real line can see of the flow; its
// methods may be called from the caller's goroutine while others update
// it, so an implementation locks.
type FlowView interface {
	// Visits is how many times the flow has entered node so far.
	Visits(node string) int
	// Listening reports whether the flow is listening after a prompt, and
	// how many listening turns had begun when it started.
	Listening() (on bool, turn int)
	// EnteredAt is how many listening turns had begun as the flow last
	// entered node.
	EnteredAt(node string) int
	// Snapshot returns the entries by node (a copy) and the listening
	// turns begun, at one moment.
	Snapshot() (visits map[string]int, listens int)
}

// flowView adapts a FlowView to the caller's flowState.
type flowView struct{ v FlowView }

func (f flowView) snapshot() flowSnap {
	visits, listens := f.v.Snapshot()
	return flowSnap{visits: maps.Clone(visits), listens: listens}
}
func (f flowView) visits(node string) int    { return f.v.Visits(node) }
func (f flowView) listening() (bool, int)    { return f.v.Listening() }
func (f flowView) enteredAt(node string) int { return f.v.EnteredAt(node) }

// Caller plays a scenario's steps one 20 ms frame at a time, as a replay
// does, against a FlowView instead of the virtual clock.
type Caller struct {
	c  *caller
	fs flowView
}

// CallerFrame says what the caller does in one frame besides the audio.
type CallerFrame struct {
	// Key is the key pressed in this frame, 0 for none; the press lasts
	// KeyFrames frames (the dtmf step's every), the next key's included.
	Key       byte
	KeyFrames int
	// Hangup: the caller hangs up instead of sending this frame.
	Hangup bool
	// Speech: the frame is part of a say or audio step's clip.
	Speech bool
	// Step is the index of the step the frame belongs to (len(steps)
	// after the last one).
	Step int
}

// NewCaller renders the scenario's say and audio steps (prompts speaks say
// steps without voice or wpm, as in Run) and returns the caller.
func NewCaller(ctx context.Context, sc *Scenario, prompts ivr.Prompts, view FlowView) (*Caller, error) {
	clips, err := render(ctx, sc.Steps, prompts)
	if err != nil {
		return nil, err
	}
	fs := flowView{view}
	return &Caller{c: newCaller(sc.Steps, clips, fs), fs: fs}, nil
}

// Frame writes the caller's next frame (media.FrameSamples samples) into
// pcm.
func (c *Caller) Frame(pcm []int16) CallerFrame {
	before := c.c.i
	key, hangup := c.c.frame(c.fs, pcm)
	// The step of this frame: the current one, unless this frame finished
	// it (the caller moved on and has done nothing of the next yet).
	i := c.c.i
	if i > before && c.c.pos == 0 {
		i--
	}
	f := CallerFrame{Key: key, Hangup: hangup, Step: i}
	if i < len(c.c.steps) {
		st := c.c.steps[i]
		if key != 0 {
			f.KeyFrames = frames(st.Every)
		}
		f.Speech = !hangup && (st.Kind == StepSay || st.Kind == StepAudio)
	}
	return f
}

// StepsLeft lists the steps other than silence that the caller has not
// got to (a step begun counts as got to), as "say \"billing\" (line 5)".
func (c *Caller) StepsLeft() []string {
	var left []string
	steps := c.c.steps
	for _, st := range steps[min(c.c.i, len(steps)):] {
		if st.Kind != StepSilence {
			left = append(left, fmt.Sprintf("%s (line %d)", st, st.Line))
		}
	}
	if c.c.i < len(steps) && c.c.pos > 0 && steps[c.c.i].Kind != StepSilence {
		left = left[1:]
	}
	return left
}

// CheckExpect compares rep (Result, Heard, BargeIn) with the scenario's
// expect, with the same messages and diffs as Run's report. It does not
// check the steps or max_duration, which only the caller knows about.
func CheckExpect(sc *Scenario, rep *Report) []string {
	s := &session{caller: &caller{i: len(sc.Steps)}}
	return check(sc, rep, s)
}

// FrameDuration is the length of one frame of the caller's audio.
const FrameDuration = frameLength

// Frames converts d to a whole number of frames, at least one, as the
// caller counts them.
func Frames(d time.Duration) int { return frames(d) }
