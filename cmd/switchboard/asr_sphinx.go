//go:build sphinx

package main

import (
	"io"
	"log/slog"

	"github.com/switchboard-voice/switchboard/asr"
	"github.com/switchboard-voice/switchboard/asr/sphinx"
	"github.com/switchboard-voice/switchboard/internal/config"
)

func init() {
	backends["sphinx"] = func(cfg config.ASR, log *slog.Logger) (asr.Recognizer, io.Closer, error) {
		r, err := sphinx.New(sphinx.Config{
			ModelDir: cfg.Sphinx.ModelDir,
			Dict:     cfg.Sphinx.Dict,
			Decoders: cfg.Sphinx.Decoders,
			Logger:   log.With("asr", "sphinx"),
		})
		if err != nil {
			return nil, nil, err
		}
		return r, r, nil
	}
}
