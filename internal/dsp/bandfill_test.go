package dsp

import (
	"math"
	"slices"
	"testing"
	"time"
)

// bandPower sums the power of pcm in [lo, hi] Hz from Goertzel measurements
// at every bin of the buffer, in the units of RMS squared: by Parseval the
// one-sided bins of a real signal add up to its mean square.
func bandPower(pcm []int16, rate int, lo, hi float64) float64 {
	bin := float64(rate) / float64(len(pcm))
	var p float64
	for f := math.Ceil(lo/bin) * bin; f <= hi; f += bin {
		p += Goertzel(pcm, rate, f)
	}
	return p
}

func TestBandFillLevelAndBand(t *testing.T) {
	speech := Resample(nil, Sine(8000, 1000, time.Second, 0.3), 8000, 16000)
	speech = speech[1600:14400]
	b := NewBandFill(1, 0)
	filled := slices.Clone(speech)
	for i := 0; i < len(filled); i += 320 {
		b.Process(filled[i:min(i+320, len(filled))])
	}
	noise := make([]int16, len(speech))
	for i := range noise {
		noise[i] = filled[i] - speech[i]
	}

	if got := DBFS(noise); math.Abs(got-DefaultBandFillDBFS) > 0.5 {
		t.Errorf("added noise is %.2f dBFS, want %d", got, DefaultBandFillDBFS)
	}
	high := 10 * math.Log10(bandPower(noise, 16000, 4500, 7500))
	if math.Abs(high-DefaultBandFillDBFS) > 2 {
		t.Errorf("4.5–7.5 kHz noise is %.2f dBFS, want about %d", high, DefaultBandFillDBFS)
	}
	low := 10 * math.Log10(bandPower(noise, 16000, 0, 3500))
	if low > -50 {
		t.Errorf("noise below 3.5 kHz is %.2f dBFS, want ≤ −50", low)
	}
	if d := 10 * math.Log10(Goertzel(filled, 16000, 1000)/Goertzel(speech, 16000, 1000)); math.Abs(d) > 0.01 {
		t.Errorf("1 kHz tone changed by %.3f dB", d)
	}
}

func TestBandFillLevel(t *testing.T) {
	pcm := make([]int16, 16000)
	NewBandFill(7, -50).Process(pcm)
	if got := DBFS(pcm); math.Abs(got+50) > 0.5 {
		t.Errorf("level = %.2f dBFS, want −50", got)
	}
}

func TestBandFillDeterministic(t *testing.T) {
	a, b, c := make([]int16, 1000), make([]int16, 1000), make([]int16, 1000)
	NewBandFill(42, 0).Process(a)
	fb := NewBandFill(42, 0)
	fb.Process(b[:333])
	fb.Process(b[333:])
	NewBandFill(43, 0).Process(c)
	if !slices.Equal(a, b) {
		t.Error("same seed gave different noise (or framing changed it)")
	}
	if slices.Equal(a, c) {
		t.Error("different seeds gave the same noise")
	}
}

func TestBandFillDoesNotAllocate(t *testing.T) {
	b := NewBandFill(1, 0)
	pcm := make([]int16, 320)
	if n := testing.AllocsPerRun(100, func() { b.Process(pcm) }); n != 0 {
		t.Errorf("Process allocates %.1f times per frame, want 0", n)
	}
}

func BenchmarkBandFill(b *testing.B) {
	f := NewBandFill(1, 0)
	pcm := make([]int16, 320)
	b.ReportAllocs()
	for b.Loop() {
		f.Process(pcm)
	}
}
