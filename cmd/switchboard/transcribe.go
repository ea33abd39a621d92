package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/switchboard-voice/switchboard/asr"
	"github.com/switchboard-voice/switchboard/tts"
)

// defaultHints are what transcribe listens for without --hints: the demo
// flow's answers and the operator intent.
var defaultHints = []string{"billing", "technical support", "support", "sales", "repeat", "yes", "no",
	"operator", "agent", "representative", "human", "a real person"}

func transcribe(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("transcribe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: switchboard transcribe [--config FILE] [--backend sphinx|whisper] [--model PATH] [--hints \"a|b|c\"] [--language xx] FILE.wav ...")
		fs.PrintDefaults()
	}
	cfgPath := fs.String("config", "", "config file (default configs/switchboard.yaml when it exists)")
	backend := fs.String("backend", "", "speech backend (overrides asr.backend)")
	model := fs.String("model", "", "model: whisper's ggml file, or sphinx's acoustic model directory")
	hints := fs.String("hints", strings.Join(defaultHints, "|"), "expected phrases, separated by |")
	language := fs.String("language", "", "callers' language (overrides asr.language)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("transcribe: no audio file given")
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *backend != "" {
		cfg.ASR.Backend = *backend
	}
	if *language != "" {
		cfg.ASR.Language = *language
	}
	if *model != "" {
		switch cfg.ASR.Backend {
		case "whisper":
			cfg.ASR.Whisper.Model = *model
		case "sphinx":
			cfg.ASR.Sphinx.ModelDir = *model
		}
	}
	if cfg.ASR.Backend == "none" {
		return errors.New("transcribe: asr.backend is none; choose one with --backend")
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b, err := newRecognizer(cfg.ASR, log)
	if err != nil {
		return err
	}
	if b.closer != nil {
		defer b.closer.Close()
	}
	rec := b.rec
	var phrases []string
	for _, p := range strings.Split(*hints, "|") {
		if p = strings.TrimSpace(p); p != "" {
			phrases = append(phrases, p)
		}
	}
	for _, path := range fs.Args() {
		if err := transcribeFile(rec, path, asr.Hints{Phrases: phrases, Language: cfg.ASR.Language}, stdout); err != nil {
			return err
		}
	}
	return nil
}

// transcribeFile recognises a whole file as one utterance and prints it.
func transcribeFile(rec asr.Recognizer, path string, h asr.Hints, w io.Writer) error {
	pcm, err := tts.LoadFileAt(path, asr.SampleRate)
	if err != nil {
		return err
	}
	start := time.Now()
	u, err := rec.Start(context.Background(), h)
	if err != nil {
		return err
	}
	const chunk = asr.SampleRate / 50 // 20 ms, as a call delivers it
	for i := 0; i < len(pcm); i += chunk {
		if err := u.Write(pcm[i:min(i+chunk, len(pcm))]); err != nil {
			u.Close()
			return err
		}
	}
	r, err := u.Finish()
	if err != nil {
		return err
	}
	took := time.Since(start)
	audio := time.Duration(len(pcm)) * time.Second / asr.SampleRate
	verdict := "match"
	if r.NoMatch {
		verdict = "no-match"
	}
	fmt.Fprintf(w, "%s: %q confidence=%.2f %s (audio %.2fs, recognised in %.2fs, real-time factor %.3f)\n",
		path, r.Text, r.Confidence, verdict, audio.Seconds(), took.Seconds(), took.Seconds()/audio.Seconds())
	for _, wd := range r.Words {
		fmt.Fprintf(w, "  %6.2fs %6.2fs  %-16s %.2f\n", wd.Start.Seconds(), wd.End.Seconds(), wd.Text, wd.Confidence)
	}
	return nil
}
