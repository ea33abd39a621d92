//go:build whisper

package main

import (
	"log/slog"

	"github.com/switchboard-voice/switchboard/asr/whisper"
	"github.com/switchboard-voice/switchboard/internal/config"
)

func init() {
	backends["whisper"] = func(cfg config.ASR, log *slog.Logger) (backend, error) {
		r, err := whisper.New(whisper.Config{
			Model:    cfg.Whisper.Model,
			Threads:  cfg.Whisper.Threads,
			States:   cfg.Whisper.States,
			Language: cfg.Language,
			Logger:   log.With("asr", "whisper"),
		})
		if err != nil {
			return backend{}, err
		}
		return backend{rec: r, closer: r, gauges: map[string]func() float64{
			"switchboard_asr_busy":       func() float64 { return float64(r.Stats().InUse) },
			"switchboard_asr_waiting":    func() float64 { return float64(r.Stats().Queued) },
			"switchboard_asr_pool":       func() float64 { return float64(r.Stats().States) },
			"switchboard_asr_utterances": func() float64 { return float64(r.Stats().Decodes) },
		}}, nil
	}
}
