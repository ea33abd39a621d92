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

// backend is a built speech backend: the recogniser, how to release it,
// and its pool's figures for /metrics.
type backend struct {
	rec    asr.Recognizer
	closer io.Closer
	gauges map[string]func() float64 // metric name -> value; help in gaugeHelp
}

// recognizerFactory builds a speech backend from the config. Backends
// register themselves from files with their build tags, so a binary built
// without one says so instead of failing to link.
type recognizerFactory func(cfg config.ASR, log *slog.Logger) (backend, error)

// gaugeHelp explains the backends' metrics.
var gaugeHelp = map[string]string{
	"switchboard_asr_busy":       "Recognisers (decoders or decoding states) busy with an utterance.",
	"switchboard_asr_waiting":    "Utterances waiting for a free recogniser.",
	"switchboard_asr_pool":       "Recognisers in the pool.",
	"switchboard_asr_utterances": "Utterances recognised since start.",
}

var backends = map[string]recognizerFactory{}

var buildHint = map[string]string{
	"sphinx":  `build with "make build" (tags sphinx; needs libpocketsphinx-dev)`,
	"whisper": `build with -tags whisper against libwhisper (README, "Speech recognition: whisper")`,
}

// newRecognizer returns the configured backend; a zero backend for "none".
func newRecognizer(cfg config.ASR, log *slog.Logger) (backend, error) {
	if cfg.Backend == "none" {
		return backend{}, nil
	}
	f, ok := backends[cfg.Backend]
	if !ok {
		have := []string{"none"}
		for k := range backends {
			have = append(have, k)
		}
		sort.Strings(have)
		return backend{}, fmt.Errorf("asr: this switchboard was built without the %s backend (it has: %s); %s",
			cfg.Backend, strings.Join(have, ", "), buildHint[cfg.Backend])
	}
	return f(cfg, log)
}
