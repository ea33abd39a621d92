package tts

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/switchboard-voice/switchboard/internal/dsp"
	"github.com/switchboard-voice/switchboard/media"
)

// Rate is the sample rate of all audio this package returns: that of the
// G.711 codecs calls use.
const Rate = 8000

// LoadFile reads an audio file and returns it as 8 kHz mono PCM16. WAV and
// MP3 are told apart by their first bytes, falling back on the extension;
// headerless G.711 at 8 kHz, as Asterisk keeps its prompts, is taken by
// extension: .ul, .ulaw or .mulaw for µ-law, .al or .alaw for A-law. Errors
// name the path.
func LoadFile(path string) ([]int16, error) {
	return LoadFileAt(path, Rate)
}

// LoadFileAt is LoadFile at another sample rate: the speech recognisers
// take 16 kHz, and a wideband recording should reach them without passing
// through 8 kHz.
func LoadFileAt(path string, rate int) ([]int16, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tts: %w", err) // *PathError names the path
	}
	pcm, from, err := decodeFile(path, b)
	if err != nil {
		return nil, fmt.Errorf("tts: %s: %w", path, err)
	}
	if from != rate {
		pcm = dsp.Resample(nil, pcm, from, rate)
	}
	return pcm, nil
}

func decodeFile(path string, b []byte) ([]int16, int, error) {
	ext := strings.ToLower(filepath.Ext(path))
	// Raw G.711 has no header, so any first bytes are possible: only the
	// extension can say what it is.
	switch ext {
	case ".ul", ".ulaw", ".mulaw":
		pcm := make([]int16, len(b))
		media.DecodeULaw(pcm, b)
		return pcm, Rate, nil
	case ".al", ".alaw":
		pcm := make([]int16, len(b))
		media.DecodeALaw(pcm, b)
		return pcm, Rate, nil
	}
	switch {
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WAVE":
		return decodeWAV(b)
	case bytes.HasPrefix(b, []byte("ID3")) || len(b) >= 2 && b[0] == 0xFF && b[1]&0xE0 == 0xE0:
		return decodeMP3(b)
	}
	switch ext {
	case ".wav":
		return decodeWAV(b) // for its error message
	case ".mp3":
		return decodeMP3(b)
	}
	return nil, 0, errors.New("unknown audio format (want WAV, MP3, or raw 8 kHz µ-law .ul or A-law .al)")
}
