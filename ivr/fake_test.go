package ivr

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/internal/phrase"
)

// fakePrompts renders each distinct text or file to distinct synthetic
// audio (its first sample is an index into names), and counts renders.
type fakePrompts struct {
	mu      sync.Mutex
	names   []string // "text" or "file:path", by index
	renders map[string]int
	fail    map[string]error // by name
}

func newFakePrompts() *fakePrompts {
	return &fakePrompts{renders: map[string]int{}, fail: map[string]error{}}
}

func (p *fakePrompts) render(name string) ([]int16, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.renders[name]++
	if err := p.fail[name]; err != nil {
		return nil, err
	}
	p.names = append(p.names, name)
	return []int16{int16(len(p.names) - 1), 1000, -1000, 1000}, nil
}

func (p *fakePrompts) Text(_ context.Context, text string) ([]int16, error) {
	return p.render(text)
}

func (p *fakePrompts) File(_ context.Context, path string) ([]int16, error) {
	return p.render("file:" + path)
}

// name returns what audio rendered.
func (p *fakePrompts) name(audio []int16) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(audio) == 0 || int(audio[0]) >= len(p.names) {
		return fmt.Sprintf("<unknown audio %v>", audio)
	}
	return p.names[audio[0]]
}

// fakeCall is a scripted caller. Play consults bargeIn and hangupOn by a
// substring of the prompt's text; Listen takes the next scripted input
// (silence once the script is used up).
type fakeCall struct {
	t       *testing.T
	prompts *fakePrompts

	bargeIn  map[string]string // prompt substring -> keys pressed during it (once)
	said     map[string]string // prompt substring -> words spoken over it (once)
	hangupOn string            // prompt substring: the caller hangs up during it
	listen   []Input           // Listen results, in order
	listenFn func(ListenOptions) (Input, error)

	caller    string                    // Info().Caller; "" means 1001
	transfers map[string]TransferResult // by target; absent: TransferOK
	referred  []string                  // targets tried, in order

	played   []string      // prompt names, in order
	playOpts []PlayOptions // per Play
	listens  []ListenOptions
	hangups  int
}

func (c *fakeCall) Info() Info {
	caller := c.caller
	if caller == "" {
		caller = "1001"
	}
	return Info{CallID: "test-call", Caller: caller}
}

func (c *fakeCall) Play(ctx context.Context, audio []int16, opts PlayOptions) (Input, error) {
	if err := ctx.Err(); err != nil {
		return Input{}, ErrHangup
	}
	name := c.prompts.name(audio)
	c.played = append(c.played, name)
	c.playOpts = append(c.playOpts, opts)
	if c.hangupOn != "" && strings.Contains(name, c.hangupOn) {
		return Input{}, ErrHangup
	}
	for sub, keys := range c.bargeIn {
		if strings.Contains(name, sub) {
			delete(c.bargeIn, sub)
			if opts.DTMFBargeIn {
				return Input{Kind: InputDigits, Digits: keys}, nil
			}
		}
	}
	for sub, words := range c.said {
		if strings.Contains(name, sub) {
			delete(c.said, sub)
			// Like a real call: speech stops a prompt unless barge-in is
			// off, and a global intent stops any prompt.
			if opts.Speech != nil && (opts.Speech.BargeIn != BargeInOff || intent(words, opts.Speech.Intents)) {
				return speech(words), nil
			}
		}
	}
	return Input{Kind: InputNone}, nil
}

func (c *fakeCall) Listen(ctx context.Context, opts ListenOptions) (Input, error) {
	if err := ctx.Err(); err != nil {
		return Input{}, ErrHangup
	}
	c.listens = append(c.listens, opts)
	if c.listenFn != nil {
		return c.listenFn(opts)
	}
	if len(c.listen) == 0 {
		return Input{Kind: InputNoInput}, nil
	}
	in := c.listen[0]
	c.listen = c.listen[1:]
	if in.Kind == InputDigits {
		in.Digits = opts.InitialKeys + in.Digits
	}
	return in, nil
}

func (c *fakeCall) Hangup(ctx context.Context) error {
	c.hangups++
	return nil
}

func (c *fakeCall) Transfer(ctx context.Context, target string, timeout time.Duration) (TransferResult, error) {
	c.referred = append(c.referred, target)
	if r, ok := c.transfers[target]; ok {
		return r, nil
	}
	return TransferResult{Outcome: TransferOK, Status: 200}, nil
}

var _ Call = (*fakeCall)(nil)
var _ Prompts = (*fakePrompts)(nil)

func keys(d string) Input { return Input{Kind: InputDigits, Digits: d} }

var silence = Input{Kind: InputNoInput}

func intent(words string, groups [][]string) bool {
	for _, g := range groups {
		for _, p := range g {
			if phrase.Contains(words, p) {
				return true
			}
		}
	}
	return false
}

func speech(words string) Input {
	if words == "" {
		return Input{Kind: InputSpeech, NoMatch: true}
	}
	return Input{Kind: InputSpeech, Text: words, Confidence: 0.9}
}
