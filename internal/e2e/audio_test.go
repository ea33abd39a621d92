package e2e

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/internal/dsp"
	"github.com/switchboard-voice/switchboard/ivr"
	"github.com/switchboard-voice/switchboard/tts"
)

// promptAudio synthesises a node's say prompt as the server does (same
// voice and speed defaults).
func promptAudio(t *testing.T, flowPath, node string) []int16 {
	t.Helper()
	f, err := ivr.Load(flowPath)
	if err != nil {
		t.Fatal(err)
	}
	n := f.Nodes[node]
	if n == nil || n.Say == nil {
		t.Fatalf("flow %s has no say node %q", flowPath, node)
	}
	pcm, err := (&tts.Espeak{}).Synthesize(context.Background(), n.Say.Text)
	if err != nil {
		t.Fatal(err)
	}
	return pcm
}

// matchPrompt checks that heard (8 kHz, what the caller received) contains
// prompt: it finds the offset where the two correlate best and requires
// the waveforms to agree there (G.711 leaves them nearly equal), with the
// same loudness and the same length of sound. It returns where the prompt
// starts in heard.
func matchPrompt(t *testing.T, heard, prompt []int16) time.Duration {
	t.Helper()
	if len(heard) < len(prompt) {
		t.Fatalf("heard %v of audio, shorter than the %v prompt", dur(len(heard)), dur(len(prompt)))
	}
	// Coarse search on 20 ms energy envelopes, then a fine one on samples.
	he, pe := envelope(heard), envelope(prompt)
	bestLag, bestC := 0, -2.0
	for lag := 0; lag+len(pe) <= len(he); lag++ {
		if c := correlate(he[lag:lag+len(pe)], pe); c > bestC {
			bestLag, bestC = lag, c
		}
	}
	if bestC < 0.9 {
		t.Fatalf("prompt not found in what the caller heard: best envelope correlation %.2f", bestC)
	}
	start := bestLag * 160
	bestOff, bestS := start, -2.0
	for off := max(0, start-320); off <= start+320 && off+len(prompt) <= len(heard); off++ {
		if c := correlate16(heard[off:off+len(prompt)], prompt); c > bestS {
			bestOff, bestS = off, c
		}
	}
	seg := heard[bestOff : bestOff+len(prompt)]
	if bestS < 0.95 {
		t.Errorf("waveform correlation with the prompt %.3f, want >= 0.95", bestS)
	}
	if d := dsp.DBFS(seg) - dsp.DBFS(prompt); math.Abs(d) > 1 {
		t.Errorf("level differs from the prompt by %.1f dB", d)
	}
	ha, pa := dsp.ActiveDuration(seg, 8000, -40), dsp.ActiveDuration(prompt, 8000, -40)
	if diff := ha - pa; diff < -40*time.Millisecond || diff > 40*time.Millisecond {
		t.Errorf("sound lasts %v in the call, %v in the prompt", ha, pa)
	}
	t.Logf("prompt found at %v: waveform correlation %.3f, level %.1f dBFS, sound %v", dur(bestOff), bestS, dsp.DBFS(seg), ha)
	return dur(bestOff)
}

func dur(samples int) time.Duration { return time.Duration(samples) * time.Second / 8000 }

func envelope(pcm []int16) []float64 {
	out := make([]float64, len(pcm)/160)
	for i := range out {
		out[i] = dsp.RMS(pcm[i*160 : (i+1)*160])
	}
	return out
}

func correlate(a, b []float64) float64 {
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(len(a))
	mb /= float64(len(b))
	var num, da, db float64
	for i := range a {
		x, y := a[i]-ma, b[i]-mb
		num += x * y
		da += x * x
		db += y * y
	}
	if da == 0 || db == 0 {
		return 0
	}
	return num / math.Sqrt(da*db)
}

func correlate16(a, b []int16) float64 {
	var num, da, db float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		num += x * y
		da += x * x
		db += y * y
	}
	if da == 0 || db == 0 {
		return 0
	}
	return num / math.Sqrt(da*db)
}
