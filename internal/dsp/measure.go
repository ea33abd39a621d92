package dsp

import (
	"math"
	"math/cmplx"
	"time"
)

// fullScale turns int16 samples into fractions of full scale.
const fullScale = 32768

// window is the length of the blocks ActiveDuration and Trim judge: 20 ms,
// the frame size of the calls' audio.
const window = 20 * time.Millisecond

// RMS returns the root-mean-square level of pcm as a fraction of full scale
// (0 for silence or no samples, 1 for a full-scale square wave).
func RMS(pcm []int16) float64 {
	if len(pcm) == 0 {
		return 0
	}
	var sum float64
	for _, v := range pcm {
		f := float64(v)
		sum += f * f
	}
	return math.Sqrt(sum/float64(len(pcm))) / fullScale
}

// DBFS returns the RMS level of pcm in decibels relative to a full-scale
// square wave, so a full-scale sine measures −3.01 dBFS, as in sox's
// "RMS lev dB". Silence is −Inf.
func DBFS(pcm []int16) float64 {
	return 20 * math.Log10(RMS(pcm))
}

// Goertzel returns the power of pcm's component at freq Hz, in the same
// units as RMS squared: a sine of amplitude A (fraction of full scale)
// that fills the buffer measures about A²/2, whatever its length. freq need
// not fall on an FFT bin. The buffer is not windowed, so a tone measured
// next to a much stronger one should be a few times rate/len(pcm) Hz away.
func Goertzel(pcm []int16, rate int, freq float64) float64 {
	if len(pcm) == 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2 float64
	for _, v := range pcm {
		s0 := float64(v)/fullScale + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - coeff*s1*s2
	n := float64(len(pcm))
	return 2 * p / (n * n)
}

// goertzelWeighted is Goertzel's magnitude squared with the samples
// weighted by w (a window of the same length).
func goertzelWeighted(pcm []int16, w []float64, rate int, freq float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2 float64
	for i, v := range pcm {
		s0 := float64(v)*w[i] + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - coeff*s1*s2
}

// DominantFrequency returns the frequency in [lo, hi] Hz at which pcm has
// the most power, to a small fraction of a hertz for a steady tone. It
// finds the peak of a Hann-windowed FFT, then refines it between the
// neighbouring bins with a windowed Goertzel search, so its precision does
// not depend on the length of the buffer. It returns 0 for an empty buffer
// or an empty range.
func DominantFrequency(pcm []int16, rate int, lo, hi float64) float64 {
	lo = max(lo, 0)
	hi = min(hi, float64(rate)/2)
	if len(pcm) == 0 || hi < lo {
		return 0
	}
	w := make([]float64, len(pcm))
	for i := range w {
		w[i] = 0.5 - 0.5*math.Cos(2*math.Pi*(float64(i)+0.5)/float64(len(w)))
	}
	n := 1
	for n < 2*len(pcm) {
		n <<= 1
	}
	buf := make([]complex128, n)
	for i, v := range pcm {
		buf[i] = complex(float64(v)*w[i], 0)
	}
	fft(buf)
	bin := float64(rate) / float64(n)
	best, bestP := -1, -1.0
	for i := int(math.Ceil(lo / bin)); i <= int(hi/bin) && i <= n/2; i++ {
		if p := cmplx.Abs(buf[i]); p > bestP {
			best, bestP = i, p
		}
	}
	if best < 0 {
		// The range is narrower than a bin: search it directly.
		return refine(pcm, w, rate, lo, hi)
	}
	f := float64(best) * bin
	return refine(pcm, w, rate, max(lo, f-bin), min(hi, f+bin))
}

// refine finds the maximum of the windowed spectrum on [a, b] by
// golden-section search; between adjacent bins of a twice-padded FFT the
// main lobe of a Hann window is unimodal.
func refine(pcm []int16, w []float64, rate int, a, b float64) float64 {
	const g = 0.6180339887498949
	c, d := b-g*(b-a), a+g*(b-a)
	fc, fd := goertzelWeighted(pcm, w, rate, c), goertzelWeighted(pcm, w, rate, d)
	for b-a > 0.01 {
		if fc >= fd {
			b, d, fd = d, c, fc
			c = b - g*(b-a)
			fc = goertzelWeighted(pcm, w, rate, c)
		} else {
			a, c, fc = c, d, fd
			d = a + g*(b-a)
			fd = goertzelWeighted(pcm, w, rate, d)
		}
	}
	return (a + b) / 2
}

// fft is an in-place iterative radix-2 transform; len(x) is a power of two.
func fft(x []complex128) {
	n := len(x)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			x[i], x[j] = x[j], x[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		step := cmplx.Exp(complex(0, -2*math.Pi/float64(size)))
		for start := 0; start < n; start += size {
			tw := complex(1, 0)
			for k := range size / 2 {
				a, b := x[start+k], x[start+k+size/2]*tw
				x[start+k], x[start+k+size/2] = a+b, a-b
				tw *= step
			}
		}
	}
}

// ActiveDuration returns how much of pcm is sound rather than silence: the
// total length of its 20 ms blocks whose level is above thresholdDBFS (a
// last, shorter block counts for its own length). It ignores where the
// sound is, so pauses between words do not count.
func ActiveDuration(pcm []int16, rate int, thresholdDBFS float64) time.Duration {
	size := windowSamples(rate)
	var n int
	for i := 0; i < len(pcm); i += size {
		b := pcm[i:min(i+size, len(pcm))]
		if DBFS(b) > thresholdDBFS {
			n += len(b)
		}
	}
	return time.Duration(n) * time.Second / time.Duration(rate)
}

// ActiveBounds returns the sample range [start, end) of pcm from the first
// to the last 20 ms block whose level is above thresholdDBFS, or 0, 0 if
// there is none.
func ActiveBounds(pcm []int16, rate int, thresholdDBFS float64) (start, end int) {
	size := windowSamples(rate)
	start = -1
	for i := 0; i < len(pcm); i += size {
		j := min(i+size, len(pcm))
		if DBFS(pcm[i:j]) > thresholdDBFS {
			if start < 0 {
				start = i
			}
			end = j
		}
	}
	if start < 0 {
		return 0, 0
	}
	return start, end
}

// Trim returns the part of pcm between its first and last 20 ms blocks
// above thresholdDBFS, a subslice sharing pcm's memory, or an empty slice
// if all of it is quiet.
func Trim(pcm []int16, rate int, thresholdDBFS float64) []int16 {
	start, end := ActiveBounds(pcm, rate, thresholdDBFS)
	return pcm[start:end]
}

func windowSamples(rate int) int {
	return max(1, int(int64(rate)*int64(window)/int64(time.Second)))
}

// Sine returns a test tone: dur of a sine at freq Hz sampled at rate, with
// peak amplitude as a fraction of full scale (1 peaks at 32767).
func Sine(rate int, freq float64, dur time.Duration, amplitude float64) []int16 {
	n := int(int64(rate) * int64(dur) / int64(time.Second))
	pcm := make([]int16, n)
	for i := range pcm {
		v := amplitude * 32767 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))
		pcm[i] = int16(math.Round(max(-32768, min(32767, v))))
	}
	return pcm
}
