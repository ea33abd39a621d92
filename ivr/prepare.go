package ivr

import (
	"context"
	"errors"
	"fmt"
)

// Prompts renders prompt text or files into 8 kHz mono PCM16. tts implements
// it (with a cache); a flow's static prompts are rendered once, by Prepare.
type Prompts interface {
	// Text synthesises text.
	Text(ctx context.Context, text string) ([]int16, error)
	// File decodes an audio file (path already resolved against the flow file).
	File(ctx context.Context, path string) ([]int16, error)
}

// Prepare renders every prompt of the flow once, at load time, and keeps the
// audio, so that nothing is synthesised or decoded on a call's path. Prompts
// with the same text (or the same file) are rendered once and share audio.
// Every failure is reported, as *Error values naming the prompt's position.
// Call it once, before the flow serves any call.
func (f *Flow) Prepare(ctx context.Context, p Prompts) error {
	type key struct {
		file bool
		s    string
	}
	type rendered struct {
		audio []int16
		err   error
	}
	done := map[key]rendered{}
	var errs []error
	f.renderer = p
	for _, pr := range f.prompts {
		if pr.templated {
			continue // rendered per call, with the call's variables
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("ivr: prepare flow %s: %w", f.Path, err)
		}
		k := key{file: pr.File != "", s: pr.Text}
		if k.file {
			k.s = pr.Path
		}
		r, ok := done[k]
		if !ok {
			if k.file {
				r.audio, r.err = p.File(ctx, pr.Path)
			} else {
				r.audio, r.err = p.Text(ctx, pr.Text)
			}
			if r.err == nil && len(r.audio) == 0 {
				r.err = errors.New("renders to no audio")
			}
			done[k] = r
		}
		if r.err != nil {
			errs = append(errs, &Error{Path: f.Path, Pos: pr.Pos, Msg: "prompt " + pr.String(), Err: r.err})
			continue
		}
		pr.audio = r.audio
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	f.prepared = true
	return nil
}
