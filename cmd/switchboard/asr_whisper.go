//go:build whisper

package main

import (
	"io"
	"log/slog"

	"github.com/switchboard-voice/switchboard/asr"
	"github.com/switchboard-voice/switchboard/asr/whisper"
	"github.com/switchboard-voice/switchboard/internal/config"
)

func init() {
	backends["whisper"] = func(cfg config.ASR, log *slog.Logger) (asr.Recognizer, io.Closer, error) {
		r, err := whisper.New(whisper.Config{
			Model:    cfg.Whisper.Model,
			Threads:  cfg.Whisper.Threads,
			States:   cfg.Whisper.States,
			Language: cfg.Language,
			Logger:   log.With("asr", "whisper"),
		})
		if err != nil {
			return nil, nil, err
		}
		return r, r, nil
	}
}
