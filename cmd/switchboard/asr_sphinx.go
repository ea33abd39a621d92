//go:build sphinx

package main

import (
	"log/slog"

	"github.com/switchboard-voice/switchboard/asr/sphinx"
	"github.com/switchboard-voice/switchboard/internal/config"
)

func init() {
	backends["sphinx"] = func(cfg config.ASR, log *slog.Logger) (backend, error) {
		r, err := sphinx.New(sphinx.Config{
			ModelDir: cfg.Sphinx.ModelDir,
			Dict:     cfg.Sphinx.Dict,
			Decoders: cfg.Sphinx.Decoders,
			Logger:   log.With("asr", "sphinx"),
		})
		if err != nil {
			return backend{}, err
		}
		return backend{rec: r, closer: r, gauges: map[string]func() float64{
			"switchboard_asr_busy":       func() float64 { return float64(r.Stats().InUse) },
			"switchboard_asr_waiting":    func() float64 { return float64(r.Stats().Waiting) },
			"switchboard_asr_pool":       func() float64 { return float64(r.Stats().Decoders) },
			"switchboard_asr_utterances": func() float64 { return float64(r.Stats().Utterances) },
		}}, nil
	}
}
