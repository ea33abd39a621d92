package dsp

import "math"

// DefaultBandFillDBFS is the level of the noise BandFill adds when asked for
// level 0: low enough to leave the speech band alone, high enough that a
// wideband acoustic model sees the upper band as "something there" rather
// than the digital silence it never met in training.
const DefaultBandFillDBFS = -34

// bandFillCutoff is where the added noise starts: just above the 4 kHz edge
// of narrowband audio upsampled to 16 kHz, so the two do not overlap.
const bandFillCutoff = 4200

// BandFill fills the empty 4–8 kHz band of narrowband speech upsampled to
// 16 kHz with faint white noise, high-passed twice at 4.2 kHz so that almost
// none of it lands in the speech band. Recognisers trained on wideband
// speech score band-limited audio noticeably worse when that band is
// digitally silent. The noise sequence is fixed by the seed, so a recording
// processed twice gives the same result. A BandFill carries filter state
// from one frame to the next and is not safe for concurrent use.
type BandFill struct {
	rng   uint64
	scale float64 // uniform [-1, 1) → noise in int16 units before filtering
	hp    [2]biquad
}

// NewBandFill returns a BandFill whose noise is generated from seed and has
// an RMS level of levelDBFS (see DBFS); 0 means DefaultBandFillDBFS.
func NewBandFill(seed uint64, levelDBFS float64) *BandFill {
	if levelDBFS == 0 {
		levelDBFS = DefaultBandFillDBFS
	}
	b := &BandFill{rng: seed}
	for i := range b.hp {
		b.hp[i] = newHighPass(bandFillCutoff, 16000)
	}
	// The filters remove part of the white noise's power; measure how much
	// from their impulse response and make it up in the source level.
	probe := b.hp
	var gain float64
	for i := range 4096 {
		x := 0.0
		if i == 0 {
			x = 1
		}
		y := probe[1].step(probe[0].step(x))
		gain += y * y
	}
	const uniformVar = 1.0 / 3
	target := math.Pow(10, levelDBFS/20) * fullScale
	b.scale = target / math.Sqrt(uniformVar*gain)
	return b
}

// Process adds the noise to pcm16k, 16 kHz mono PCM16, in place.
func (b *BandFill) Process(pcm16k []int16) {
	for i, v := range pcm16k {
		// splitmix64: tiny, fast and good enough for noise.
		b.rng += 0x9e3779b97f4a7c15
		z := b.rng
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		z ^= z >> 31
		u := float64(z>>11)/(1<<52) - 1 // [-1, 1)
		n := b.hp[1].step(b.hp[0].step(u * b.scale))
		s := float64(v) + n
		switch {
		case s >= 32767:
			pcm16k[i] = 32767
		case s <= -32768:
			pcm16k[i] = -32768
		default:
			pcm16k[i] = int16(math.Round(s))
		}
	}
}

// biquad is a second-order IIR section in transposed direct form II.
type biquad struct {
	b0, b1, b2, a1, a2 float64
	z1, z2             float64
}

// newHighPass is the Butterworth (Q = 1/√2) high-pass of the Audio EQ
// Cookbook.
func newHighPass(cutoff, rate float64) biquad {
	w := 2 * math.Pi * cutoff / rate
	alpha := math.Sin(w) / math.Sqrt2 // sin(w)/2Q
	cos := math.Cos(w)
	a0 := 1 + alpha
	return biquad{
		b0: (1 + cos) / 2 / a0,
		b1: -(1 + cos) / a0,
		b2: (1 + cos) / 2 / a0,
		a1: -2 * cos / a0,
		a2: (1 - alpha) / a0,
	}
}

func (f *biquad) step(x float64) float64 {
	y := f.b0*x + f.z1
	f.z1 = f.b1*x - f.a1*y + f.z2
	f.z2 = f.b2*x - f.a2*y
	return y
}
