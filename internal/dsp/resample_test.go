package dsp

import (
	"math"
	"testing"
	"time"
)

func db(ratio float64) float64 { return 10 * math.Log10(ratio) }

// middle drops the first and last tenth of a buffer, where the filter sees
// the silence outside it.
func middle(pcm []int16) []int16 { return pcm[len(pcm)/10 : len(pcm)-len(pcm)/10] }

func TestResampleKeepsToneInPassband(t *testing.T) {
	in := Sine(22050, 1000, time.Second, 0.5)
	out := Resample(nil, in, 22050, 8000)
	if got := DominantFrequency(out, 8000, 100, 3900); math.Abs(got-1000) > 1 {
		t.Errorf("dominant frequency = %.2f Hz, want 1000", got)
	}
	gain := db(Goertzel(middle(out), 8000, 1000) / Goertzel(middle(in), 22050, 1000))
	if math.Abs(gain) > 0.5 {
		t.Errorf("1 kHz gain = %.2f dB, want within ±0.5 dB", gain)
	}
}

func TestResampleRejectsAliases(t *testing.T) {
	for _, tc := range []struct {
		from, to int
		freq     float64
	}{
		{22050, 8000, 5000},
		{22050, 8000, 4100},
		{44100, 8000, 5000},
		{48000, 8000, 7000},
		{16000, 8000, 5000},
	} {
		in := Sine(tc.from, tc.freq, time.Second, 0.5)
		out := Resample(nil, in, tc.from, tc.to)
		alias := math.Abs(float64(tc.to) - tc.freq)
		ref := Goertzel(middle(in), tc.from, tc.freq)
		att := db(Goertzel(middle(out), tc.to, alias) / ref)
		if att > -40 {
			t.Errorf("%d→%d: %.0f Hz folds to %.0f Hz at %.1f dB, want ≤ −40 dB", tc.from, tc.to, tc.freq, alias, att)
		}
		if lvl := db(RMS(middle(out)) * RMS(middle(out)) / ref); lvl > -40 {
			t.Errorf("%d→%d: %.0f Hz leaves %.1f dB in total, want ≤ −40 dB", tc.from, tc.to, tc.freq, lvl)
		}
	}
}

func TestResamplePassbandIsFlat(t *testing.T) {
	for _, rates := range [][2]int{{22050, 8000}, {44100, 8000}, {48000, 8000}, {8000, 16000}, {8000, 22050}, {44101, 8000}} {
		lo, hi := math.Inf(1), math.Inf(-1)
		for f := 300.0; f <= 3400; f += 100 {
			in := Sine(rates[0], f, 500*time.Millisecond, 0.5)
			out := Resample(nil, in, rates[0], rates[1])
			g := db(Goertzel(middle(out), rates[1], f) / Goertzel(middle(in), rates[0], f))
			lo, hi = min(lo, g), max(hi, g)
		}
		if hi-lo > 1 || math.Abs(hi) > 1 || math.Abs(lo) > 1 {
			t.Errorf("%d→%d: passband gain %.2f…%.2f dB, want within 1 dB of 0", rates[0], rates[1], lo, hi)
		}
	}
}

func TestResamplePreservesDuration(t *testing.T) {
	for _, rates := range [][2]int{{22050, 8000}, {44100, 8000}, {8000, 16000}, {48000, 8000}, {11025, 8000}, {8000, 44100}, {7, 3}} {
		for _, n := range []int{0, 1, 159, 160, 22050, 30001} {
			out := Resample(nil, make([]int16, n), rates[0], rates[1])
			want := float64(n) * float64(rates[1]) / float64(rates[0])
			if math.Abs(float64(len(out))-want) > 1 {
				t.Errorf("%d→%d: %d samples became %d, want %.1f", rates[0], rates[1], n, len(out), want)
			}
		}
	}
}

func TestResampleSameRateCopies(t *testing.T) {
	in := []int16{1, -2, 3}
	out := Resample(nil, in, 8000, 8000)
	out[0] = 9
	if in[0] != 1 || len(out) != 3 {
		t.Fatalf("same-rate Resample should copy, got %v from %v", out, in)
	}
}

func TestResampleAppends(t *testing.T) {
	out := Resample([]int16{7}, Sine(16000, 440, 10*time.Millisecond, 0.5), 16000, 8000)
	if out[0] != 7 || len(out) != 81 {
		t.Fatalf("Resample should append: len %d, first %d", len(out), out[0])
	}
}

func TestResamplerMatchesResample(t *testing.T) {
	for _, rates := range [][2]int{{8000, 16000}, {22050, 8000}, {48000, 8000}, {16000, 8000}} {
		from, to := rates[0], rates[1]
		in := Sine(from, 997, time.Second, 0.8)
		whole := Resample(nil, in, from, to)
		r := NewResampler(from, to)
		var stream []int16
		frame := from / 50
		for i := 0; i < len(in); i += frame {
			stream = r.Process(stream, in[i:min(i+frame, len(in))])
		}
		// The stream runs Latency behind: shift it back to compare.
		shift := r.Latency() * float64(to)
		if shift != math.Trunc(shift) {
			continue
		}
		stream = stream[int(shift):]
		if len(stream) > len(whole) {
			t.Fatalf("%d→%d: stream has %d samples after the delay, whole buffer %d", from, to, len(stream), len(whole))
		}
		for i, v := range stream {
			if v != whole[i] {
				t.Fatalf("%d→%d: sample %d: stream %d, whole %d", from, to, i, v, whole[i])
			}
		}
	}
}

func TestResamplerSteadyFrames(t *testing.T) {
	r := NewResampler(8000, 16000)
	in := Sine(8000, 1000, 20*time.Millisecond, 0.5)
	out := make([]int16, 0, 320)
	for i := range 10 {
		if out = r.Process(out[:0], in); len(out) != 320 {
			t.Fatalf("frame %d: 160 samples in gave %d out, want 320", i, len(out))
		}
	}
	if got := r.Latency(); got <= 0 || got > 0.01 {
		t.Errorf("latency = %v s, want a few ms", got)
	}
}

func TestResamplerIsSeamless(t *testing.T) {
	// A tone streamed through in frames should have no sample-to-sample
	// step larger than the tone itself can make.
	in := Sine(8000, 1000, time.Second, 0.5)
	r := NewResampler(8000, 16000)
	var out []int16
	for i := 0; i < len(in); i += 160 {
		out = r.Process(out, in[i:i+160])
	}
	out = out[400:]
	maxStep := 0.5 * 32767 * 2 * math.Pi * 1000 / 16000 * 1.05
	for i := 1; i < len(out); i++ {
		if d := math.Abs(float64(out[i]) - float64(out[i-1])); d > maxStep {
			t.Fatalf("step of %.0f at output sample %d, want ≤ %.0f", d, i+400, maxStep)
		}
	}
}

func TestResamplerReset(t *testing.T) {
	in := Sine(8000, 440, 100*time.Millisecond, 0.5)
	r := NewResampler(8000, 16000)
	a := r.Process(nil, in)
	r.Reset()
	b := r.Process(nil, in)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("after Reset sample %d = %d, first run %d", i, b[i], a[i])
		}
	}
}

func TestResamplerDoesNotAllocate(t *testing.T) {
	r := NewResampler(8000, 16000)
	in := Sine(8000, 440, 20*time.Millisecond, 0.5)
	out := make([]int16, 0, 320)
	if n := testing.AllocsPerRun(100, func() { out = r.Process(out[:0], in) }); n != 0 {
		t.Errorf("Process allocates %.1f times per frame, want 0", n)
	}
}

func BenchmarkResampler8kTo16k(b *testing.B) {
	r := NewResampler(8000, 16000)
	in := Sine(8000, 440, 20*time.Millisecond, 0.5)
	out := make([]int16, 0, 320)
	b.ReportAllocs()
	b.SetBytes(int64(len(in) * 2))
	for b.Loop() {
		out = r.Process(out[:0], in)
	}
}

func BenchmarkResample22050To8000(b *testing.B) {
	in := Sine(22050, 440, time.Second, 0.5)
	out := make([]int16, 0, 8000)
	b.ReportAllocs()
	b.SetBytes(int64(len(in) * 2))
	for b.Loop() {
		out = Resample(out[:0], in, 22050, 8000)
	}
}
