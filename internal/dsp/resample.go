package dsp

import (
	"math"
	"sync"
)

// The filter is a Kaiser-windowed sinc whose passband ends at 0.425 × the
// lower rate (3400 Hz when one side is 8 kHz, the top of the telephone band)
// and whose stopband starts at the lower rate's Nyquist frequency, so nothing
// that survives with more than stopbandDB of gain can fold back below it.
// The −6 dB point therefore sits at 0.4625 × the lower rate.
const (
	passbandEdge = 0.425
	stopbandEdge = 0.5
	stopbandDB   = 80
	// maxPhases bounds the coefficient table. Rate pairs whose reduced
	// ratio needs more phases than this (44101→8000, say) interpolate
	// between neighbouring phases instead; the error that adds is far
	// below the stopband.
	maxPhases = 1024
)

// kernel is the polyphase filter for one rate pair. It is immutable once
// built and shared by every Resampler and Resample call for that pair.
type kernel struct {
	up, down int // output advances by down/up input samples
	taps     int // coefficients per phase (even)
	phases   int // rows in coef, excluding the extra row of approximate tables
	exact    bool
	// coef holds phases rows of taps coefficients (phases+1 rows when not
	// exact, the last being fraction 1.0). Row p, tap k weights input
	// sample start+k for an output at start + taps/2 − 1 + p/phases.
	coef []float32
}

var kernels sync.Map // [2]int{from, to} → *kernel

func kernelFor(from, to int) *kernel {
	key := [2]int{from, to}
	if k, ok := kernels.Load(key); ok {
		return k.(*kernel)
	}
	k, _ := kernels.LoadOrStore(key, newKernel(from, to))
	return k.(*kernel)
}

func newKernel(from, to int) *kernel {
	g := gcd(from, to)
	k := &kernel{up: to / g, down: from / g}
	lower := float64(min(from, to))
	// Everything is in cycles per input sample from here on.
	fc := (passbandEdge + stopbandEdge) / 2 * lower / float64(from)
	width := (stopbandEdge - passbandEdge) * lower / float64(from)
	// Kaiser's estimates for the window's length and shape.
	n := (stopbandDB - 7.95) / (2.285 * 2 * math.Pi * width)
	beta := 0.1102 * (stopbandDB - 8.7)
	k.taps = int(math.Ceil(n/2)) * 2
	k.taps = max(k.taps, 2)
	half := float64(k.taps / 2)

	rows := k.up
	k.exact = k.up <= maxPhases
	if !k.exact {
		rows = maxPhases + 1
		k.phases = maxPhases
	} else {
		k.phases = k.up
	}
	k.coef = make([]float32, rows*k.taps)
	i0beta := besselI0(beta)
	row := make([]float64, k.taps)
	for p := range rows {
		frac := float64(p) / float64(k.phases)
		sum := 0.0
		for t := range k.taps {
			// Distance from the output instant to the input sample.
			d := frac - float64(t) + half - 1
			v := 0.0
			if r := d / half; r > -1 && r < 1 {
				v = 2 * fc * sinc(2*fc*d) * besselI0(beta*math.Sqrt(1-r*r)) / i0beta
			}
			row[t] = v
			sum += v
		}
		// Unity gain at DC for every phase; otherwise the small
		// per-phase differences would modulate a constant signal.
		for t, v := range row {
			k.coef[p*k.taps+t] = float32(v / sum)
		}
	}
	return k
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// besselI0 is the zeroth-order modified Bessel function of the first kind,
// by its power series; it converges quickly for the β values used here.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	q := x * x / 4
	for k := 1; k < 200; k++ {
		term *= q / float64(k*k)
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// run computes outputs from x into dst while the window for the next output
// lies inside x. pos is the index in x where the next output's window
// starts and num/up its fractional position; both are returned advanced.
// limit caps the number of outputs (−1: none).
func (k *kernel) run(dst []int16, x []float32, pos, num, limit int) ([]int16, int, int) {
	taps := k.taps
	for pos+taps <= len(x) && limit != 0 {
		w := x[pos : pos+taps]
		var acc float32
		if k.exact {
			c := k.coef[num*taps : num*taps+taps]
			for i, v := range w {
				acc += v * c[i]
			}
		} else {
			f := float64(num) / float64(k.up) * float64(k.phases)
			p := int(f)
			a := float32(f - float64(p))
			c0 := k.coef[p*taps : p*taps+taps]
			c1 := k.coef[(p+1)*taps : (p+1)*taps+taps]
			var acc1 float32
			for i, v := range w {
				acc += v * c0[i]
				acc1 += v * c1[i]
			}
			acc += a * (acc1 - acc)
		}
		dst = append(dst, toInt16(acc))
		num += k.down
		pos += num / k.up
		num %= k.up
		limit--
	}
	return dst, pos, num
}

func toInt16(v float32) int16 {
	switch {
	case v >= 32767:
		return 32767
	case v <= -32768:
		return -32768
	case v >= 0:
		return int16(v + 0.5)
	default:
		return int16(v - 0.5)
	}
}

// Resample converts a whole buffer of mono PCM16 from rate from to rate to
// (any positive rates) through a band-limited filter, treating the signal
// as silent before and after the buffer. The output has ⌈len(src)·to/from⌉
// samples and is aligned with the input: no delay is added. It appends to
// dst and returns the extended slice, so Resample(buf[:0], …) reuses buf.
// It allocates a working copy of src; per-frame work belongs to a Resampler.
// It panics if a rate is not positive.
func Resample(dst []int16, src []int16, from, to int) []int16 {
	checkRates(from, to)
	if from == to {
		return append(dst, src...)
	}
	if len(src) == 0 {
		return dst
	}
	k := kernelFor(from, to)
	// Pad so that the window of the output at input time t starts at
	// index ⌊t⌋: taps/2 − 1 zeros before, taps/2 after.
	lead := k.taps/2 - 1
	x := make([]float32, lead+len(src)+k.taps/2)
	for i, v := range src {
		x[lead+i] = float32(v)
	}
	n := (len(src)*k.up + k.down - 1) / k.down
	dst = growInt16(dst, n)
	dst, _, _ = k.run(dst, x, 0, 0, n)
	return dst
}

func growInt16(s []int16, n int) []int16 {
	if cap(s)-len(s) >= n {
		return s
	}
	t := make([]int16, len(s), len(s)+n)
	copy(t, s)
	return t
}

func checkRates(from, to int) {
	if from <= 0 || to <= 0 {
		panic("dsp: sample rates must be positive")
	}
}

// Resampler is the streaming form of Resample for a call's audio: frames go
// in one at a time and the filter's history is carried between them, so the
// output has no seams at frame boundaries. Each output sample is produced as
// soon as the input up to its instant has arrived, which makes the output a
// fixed Latency behind the input and the output count per frame steady
// (160 samples in at 8 kHz → 320 out at 16 kHz, every time). The output is
// identical to Resample's, delayed by Latency. A Resampler is not safe for
// concurrent use.
type Resampler struct {
	k        *kernel
	from, to int
	hist     []float32 // input not yet consumed, starting at the next window
	pos, num int
}

// NewResampler returns a Resampler from rate from to rate to. It panics if a
// rate is not positive.
func NewResampler(from, to int) *Resampler {
	checkRates(from, to)
	r := &Resampler{from: from, to: to}
	if from == to {
		return r
	}
	r.k = kernelFor(from, to)
	// Start with a window's worth of silence so the first output needs
	// only the first input sample; room for a second of input means
	// ordinary frames never grow the buffer.
	r.hist = make([]float32, r.k.taps-1, r.k.taps-1+from)
	return r
}

// Process resamples the next frame src, appends the result to dst and
// returns the extended slice. With dst of sufficient capacity and frames no
// longer than a second it does not allocate.
func (r *Resampler) Process(dst, src []int16) []int16 {
	if r.k == nil {
		return append(dst, src...)
	}
	for _, v := range src {
		r.hist = append(r.hist, float32(v))
	}
	dst, r.pos, r.num = r.k.run(dst, r.hist, r.pos, r.num, -1)
	drop := min(r.pos, len(r.hist))
	n := copy(r.hist, r.hist[drop:])
	r.hist = r.hist[:n]
	r.pos -= drop
	return dst
}

// Latency is how far the output of Process lags its input, in seconds of
// signal: half the filter's length.
func (r *Resampler) Latency() float64 {
	if r.k == nil {
		return 0
	}
	return float64(r.k.taps/2) / float64(r.from)
}

// Reset forgets the history so the Resampler can start a new stream.
func (r *Resampler) Reset() {
	if r.k == nil {
		return
	}
	r.hist = r.hist[:r.k.taps-1]
	clear(r.hist)
	r.pos, r.num = 0, 0
}
