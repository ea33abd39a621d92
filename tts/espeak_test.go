package tts

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/internal/dsp"
)

// needEspeak fails rather than skips: the server cannot speak without
// espeak-ng, so a machine without it should find out here.
func needEspeak(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		t.Fatal(`espeak-ng is not installed: run "apt-get install espeak-ng"`)
	}
}

func TestEspeakSpeaks(t *testing.T) {
	needEspeak(t)
	pcm, err := (&Espeak{}).Synthesize(context.Background(), "You have reached Switchboard")
	if err != nil {
		t.Fatal(err)
	}
	dur := time.Duration(len(pcm)) * time.Second / Rate
	if dur < time.Second || dur > 4*time.Second {
		t.Errorf("duration %v, want 1–4 s", dur)
	}
	if lvl := dsp.DBFS(pcm); lvl < -35 {
		t.Errorf("level %.1f dBFS, want well above silence", lvl)
	}
	if active := dsp.ActiveDuration(pcm, Rate, -40); active < dur/2 {
		t.Errorf("only %v of %v is sound", active, dur)
	}
	// Leading and trailing silence cut to at most 100 ms (plus a block).
	start, end := dsp.ActiveBounds(pcm, Rate, silenceThreshold)
	if start > silencePad+160 || len(pcm)-end > silencePad+160 {
		t.Errorf("silence of %d samples before and %d after, want ≤ %d", start, len(pcm)-end, silencePad)
	}
	var speech, total float64
	for f := 50.0; f < 4000; f += 25 {
		p := dsp.Goertzel(pcm, Rate, f)
		total += p
		if f >= 200 && f <= 3400 {
			speech += p
		}
	}
	if speech/total < 0.8 {
		t.Errorf("%.0f%% of the energy in 200–3400 Hz, want most", 100*speech/total)
	}
}

func TestEspeakOptions(t *testing.T) {
	needEspeak(t)
	ctx := context.Background()
	slow, err := (&Espeak{Speed: 100}).Synthesize(ctx, "one two three four five")
	if err != nil {
		t.Fatal(err)
	}
	fast, err := (&Espeak{Speed: 250, Pitch: 70, Voice: "en-gb"}).Synthesize(ctx, "one two three four five")
	if err != nil {
		t.Fatal(err)
	}
	if len(fast) >= len(slow) {
		t.Errorf("250 wpm took %d samples, 100 wpm %d", len(fast), len(slow))
	}
}

func TestEspeakTextIsNotAnOption(t *testing.T) {
	needEspeak(t)
	pcm, err := (&Espeak{}).Synthesize(context.Background(), "--help; rm -rf / $(reboot)")
	if err != nil {
		t.Fatal(err)
	}
	if dsp.ActiveDuration(pcm, Rate, -40) < 500*time.Millisecond {
		t.Error("text starting with -- was not spoken")
	}
}

func TestEspeakEmptyText(t *testing.T) {
	for _, text := range []string{"", "  \n\t"} {
		if _, err := (&Espeak{}).Synthesize(context.Background(), text); !errors.Is(err, ErrEmptyText) {
			t.Errorf("%q: err = %v, want ErrEmptyText", text, err)
		}
	}
}

func TestEspeakMissingBinary(t *testing.T) {
	_, err := (&Espeak{Binary: "espeak-ng-not-here"}).Synthesize(context.Background(), "hello")
	if err == nil || !strings.Contains(err.Error(), `apt-get install espeak-ng`) || !strings.HasPrefix(err.Error(), "tts: ") {
		t.Fatalf("err = %v, want an install hint", err)
	}
}

func TestEspeakBadVoice(t *testing.T) {
	needEspeak(t)
	if _, err := (&Espeak{Voice: "xx-nonexistent"}).Synthesize(context.Background(), "hello"); err == nil {
		t.Fatal("unknown voice gave no error")
	}
}

func TestEspeakCancelled(t *testing.T) {
	needEspeak(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (&Espeak{}).Synthesize(ctx, "hello"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
