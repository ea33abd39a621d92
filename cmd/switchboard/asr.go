package main

import (
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"

	"github.com/switchboard-voice/switchboard/asr"
	"github.com/switchboard-voice/switchboard/internal/config"
)

// recognizerFactory builds a speech backend from the config. Backends
// register themselves from files with their build tags, so a binary built
// without one says so instead of failing to link.
type recognizerFactory func(cfg config.ASR, log *slog.Logger) (asr.Recognizer, io.Closer, error)

var backends = map[string]recognizerFactory{}

var buildHint = map[string]string{
	"sphinx":  `build with "make build" (tags sphinx; needs libpocketsphinx-dev)`,
	"whisper": `build with -tags whisper against libwhisper (README, "Speech recognition: whisper")`,
}

// newRecognizer returns the configured backend; nil for "none".
func newRecognizer(cfg config.ASR, log *slog.Logger) (asr.Recognizer, io.Closer, error) {
	if cfg.Backend == "none" {
		return nil, nil, nil
	}
	f, ok := backends[cfg.Backend]
	if !ok {
		have := []string{"none"}
		for k := range backends {
			have = append(have, k)
		}
		sort.Strings(have)
		return nil, nil, fmt.Errorf("asr: this switchboard was built without the %s backend (it has: %s); %s",
			cfg.Backend, strings.Join(have, ", "), buildHint[cfg.Backend])
	}
	return f(cfg, log)
}
