package dsp

import (
	"math"
	"testing"
	"time"
)

func TestLevels(t *testing.T) {
	s := Sine(8000, 1000, time.Second, 1)
	if got := DBFS(s); math.Abs(got+3.01) > 0.05 {
		t.Errorf("full-scale sine = %.2f dBFS, want −3.01", got)
	}
	if got := RMS(Sine(8000, 1000, time.Second, 0.1)); math.Abs(got-0.1/math.Sqrt2) > 1e-3 {
		t.Errorf("RMS of 0.1 sine = %.4f, want %.4f", got, 0.1/math.Sqrt2)
	}
	if got := DBFS(make([]int16, 10)); !math.IsInf(got, -1) {
		t.Errorf("silence = %v dBFS, want −Inf", got)
	}
	if RMS(nil) != 0 {
		t.Error("RMS(nil) != 0")
	}
}

func TestGoertzel(t *testing.T) {
	s := Sine(8000, 440, time.Second, 0.5)
	if got := Goertzel(s, 8000, 440); math.Abs(got-0.125) > 0.002 {
		t.Errorf("power at 440 Hz = %.4f, want A²/2 = 0.125", got)
	}
	if got := Goertzel(s, 8000, 1000); got > 1e-5 {
		t.Errorf("power at 1 kHz = %g, want ~0", got)
	}
	if Goertzel(nil, 8000, 440) != 0 {
		t.Error("Goertzel(nil) != 0")
	}
}

func TestDominantFrequency(t *testing.T) {
	for _, tc := range []struct {
		rate int
		freq float64
		dur  time.Duration
	}{
		{8000, 440, time.Second},
		{8000, 440, 60 * time.Millisecond},
		{8000, 3333.3, 500 * time.Millisecond},
		{16000, 6100, 200 * time.Millisecond},
		{44100, 440, 2 * time.Second},
	} {
		s := Sine(tc.rate, tc.freq, tc.dur, 0.3)
		if got := DominantFrequency(s, tc.rate, 50, float64(tc.rate)/2); math.Abs(got-tc.freq) > 0.5 {
			t.Errorf("%v of %.1f Hz at %d: got %.2f Hz", tc.dur, tc.freq, tc.rate, got)
		}
	}
	// Two tones: the range picks which one.
	a, b := Sine(8000, 500, time.Second, 0.5), Sine(8000, 2000, time.Second, 0.2)
	for i := range a {
		a[i] += b[i]
	}
	if got := DominantFrequency(a, 8000, 1000, 3000); math.Abs(got-2000) > 0.5 {
		t.Errorf("in 1–3 kHz got %.2f Hz, want 2000", got)
	}
	if got := DominantFrequency(a, 8000, 0, 4000); math.Abs(got-500) > 0.5 {
		t.Errorf("overall got %.2f Hz, want 500", got)
	}
	if DominantFrequency(nil, 8000, 0, 4000) != 0 {
		t.Error("empty buffer should give 0")
	}
}

func TestActiveDurationAndTrim(t *testing.T) {
	quiet := make([]int16, 4000) // 500 ms
	tone := Sine(8000, 440, 300*time.Millisecond, 0.3)
	pcm := append(append(append([]int16{}, quiet...), tone...), quiet[:1600]...)
	pcm = append(pcm, tone...)
	pcm = append(pcm, quiet...)
	if got := ActiveDuration(pcm, 8000, -40); got != 600*time.Millisecond {
		t.Errorf("active = %v, want 600ms", got)
	}
	trimmed := Trim(pcm, 8000, -40)
	if want := 2*len(tone) + 1600; len(trimmed) != want {
		t.Errorf("trimmed to %d samples, want %d", len(trimmed), want)
	}
	if len(Trim(quiet, 8000, -40)) != 0 {
		t.Error("all-quiet buffer should trim to nothing")
	}
	if s, e := ActiveBounds(pcm, 8000, -40); s != 4000 || e != 4000+2*len(tone)+1600 {
		t.Errorf("bounds = %d, %d", s, e)
	}
}

func TestSine(t *testing.T) {
	s := Sine(8000, 1000, 20*time.Millisecond, 1)
	if len(s) != 160 {
		t.Fatalf("len = %d, want 160", len(s))
	}
	if s[2] != 32767 { // the crest, a quarter period in
		t.Errorf("s[2] = %d, want 32767", s[2])
	}
}
