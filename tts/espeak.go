package tts

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"github.com/switchboard-voice/switchboard/internal/dsp"
)

// ErrEmptyText is returned for text with nothing to say. A prompt that
// renders as silence is almost always a mistake in the flow, and a caller
// left listening to nothing cannot tell anyone.
var ErrEmptyText = errors.New("tts: empty text")

// Espeak synthesises speech with the espeak-ng command-line program, one
// process per prompt. The zero value is ready to use.
type Espeak struct {
	// Voice is an espeak-ng voice name; default "en-us".
	Voice string
	// Speed in words per minute; default 150, a little slower than
	// espeak-ng's own 175, for callers who are elderly or on a bad line.
	Speed int
	// Pitch from 0 to 99; default (and when 0) espeak-ng's 50.
	Pitch int
	// Binary is the program to run, a name looked up in PATH or a path;
	// default "espeak-ng".
	Binary string
}

// silencePad is how much quiet Synthesize keeps around the speech.
// espeak-ng leaves some 300 ms; a menu that strings prompts together
// sounds sluggish with that much between them.
const (
	silencePad       = Rate / 10 // 100 ms
	silenceThreshold = -50       // dBFS
)

// Synthesize speaks text and returns 8 kHz mono PCM16, with leading and
// trailing silence cut to at most 100 ms. The text goes to espeak-ng on
// standard input, never through a shell or as an argument, so it cannot be
// taken for an option. Text that is empty or only white space gives
// ErrEmptyText. Cancelling ctx kills the process.
func (e *Espeak) Synthesize(ctx context.Context, text string) ([]int16, error) {
	if strings.TrimSpace(text) == "" {
		return nil, ErrEmptyText
	}
	bin := cmp.Or(e.Binary, "espeak-ng")
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("tts: %s not found in PATH: install it with \"apt-get install espeak-ng\"", bin)
	}
	args := []string{
		"--stdout", "--stdin",
		"-b", "1", // the text is UTF-8
		"-v", cmp.Or(e.Voice, "en-us"),
		"-s", strconv.Itoa(cmp.Or(e.Speed, 150)),
	}
	if e.Pitch != 0 {
		args = append(args, "-p", strconv.Itoa(e.Pitch))
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = strings.NewReader(text)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("tts: espeak-ng: %w", ctx.Err())
		}
		msg := strings.TrimSpace(stderr.String())
		if msg != "" {
			return nil, fmt.Errorf("tts: espeak-ng: %w: %s", err, msg)
		}
		return nil, fmt.Errorf("tts: espeak-ng: %w", err)
	}
	pcm, rate, err := decodeWAV(stdout.Bytes())
	if err != nil {
		// espeak-ng reports an unknown voice on stderr but exits 0.
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("tts: espeak-ng: %s", msg)
		}
		return nil, fmt.Errorf("tts: espeak-ng output: %w", err)
	}
	pcm = dsp.Resample(nil, pcm, rate, Rate)
	start, end := dsp.ActiveBounds(pcm, Rate, silenceThreshold)
	if start == end {
		return nil, fmt.Errorf("tts: espeak-ng produced only silence for %q", text)
	}
	return pcm[max(0, start-silencePad):min(len(pcm), end+silencePad)], nil
}
