package media_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/switchboard-voice/switchboard/media"
)

// lineNoise returns n samples of telephone line noise at levelDBFS: white
// Gaussian noise band-limited to about 200–3400 Hz by one-pole filters, so
// that it is neither white nor as periodic as hum.
func lineNoise(seed uint64, n int, levelDBFS float64) []int16 {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	f := make([]float64, n)
	var lp, hpIn, hp float64
	const aLP = 0.75 // ≈ 3.4 kHz at 8 kHz
	const aHP = 0.85 // ≈ 200 Hz
	for i := range f {
		x := r.NormFloat64()
		lp += aLP * (x - lp)
		hp = aHP * (hp + lp - hpIn)
		hpIn = lp
		f[i] = hp
	}
	return scaleTo(f, levelDBFS)
}

// scaleTo returns f scaled to an RMS of levelDBFS, as int16.
func scaleTo(f []float64, levelDBFS float64) []int16 {
	var sum float64
	for _, v := range f {
		sum += v * v
	}
	rms := math.Sqrt(sum / float64(max(1, len(f))))
	g := 0.0
	if rms > 0 {
		g = 32768 * math.Pow(10, levelDBFS/20) / rms
	}
	out := make([]int16, len(f))
	for i, v := range f {
		out[i] = clip16(v * g)
	}
	return out
}

func clip16(v float64) int16 {
	return int16(math.Round(max(-32768, min(32767, v))))
}

// voiceLike returns n samples of a voiced, speech-like signal at levelDBFS:
// a 120 Hz glottal pulse train's first 25 harmonics with a 1/k spectrum,
// its amplitude rising and falling by 10 dB at a syllable rate of 4 Hz.
func voiceLike(n int, levelDBFS float64) []int16 {
	f := make([]float64, n)
	for i := range f {
		t := float64(i) / media.SampleRate
		var s float64
		for k := 1; k <= 25; k++ {
			s += math.Sin(2*math.Pi*120*float64(k)*t) / float64(k)
		}
		env := 0.65 + 0.35*math.Cos(2*math.Pi*4*t)
		f[i] = s * env
	}
	return scaleTo(f, levelDBFS)
}

// add mixes b into a (in place) from sample offset off.
func add(a []int16, off int, b []int16) {
	for i, v := range b {
		if off+i < len(a) {
			a[off+i] = clip16(float64(a[off+i]) + float64(v))
		}
	}
}

// ulaw passes pcm through G.711 µ-law, as every call's audio does.
func ulaw(pcm []int16) []int16 {
	b := make([]byte, len(pcm))
	media.EncodeULaw(b, pcm)
	out := make([]int16, len(pcm))
	media.DecodeULaw(out, b)
	return out
}

// frames splits pcm into whole frames.
func frames(pcm []int16) [][]int16 {
	var fs [][]int16
	for i := 0; i+media.FrameSamples <= len(pcm); i += media.FrameSamples {
		fs = append(fs, pcm[i:i+media.FrameSamples])
	}
	return fs
}

// vadRun returns Process's decision for each frame of pcm.
func vadRun(v *media.VAD, pcm []int16) []bool {
	fs := frames(pcm)
	out := make([]bool, len(fs))
	for i, f := range fs {
		out[i] = v.Process(f)
	}
	return out
}

func count(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

func TestVADSilenceAndLineNoiseAreNotSpeech(t *testing.T) {
	const n = 10 * media.SampleRate
	cases := map[string][]int16{
		"digital silence": make([]int16, n),
		"noise -65 dBFS":  ulaw(lineNoise(1, n, -65)),
		"noise -50 dBFS":  ulaw(lineNoise(2, n, -50)),
		"noise -40 dBFS":  ulaw(lineNoise(3, n, -40)),
		"noise -30 dBFS":  ulaw(lineNoise(4, n, -30)),
	}
	for name, pcm := range cases {
		v := media.NewVAD(media.VADConfig{})
		got := vadRun(v, pcm)
		if c := count(got); c != 0 {
			t.Errorf("%s: %d of %d frames called speech", name, c, len(got))
		}
		t.Logf("%s: floor %.1f dBFS, last level %.1f", name, v.NoiseFloor(), v.Level())
	}
}

func TestVADDetectsSpeechLikeSignalWithinThreeFrames(t *testing.T) {
	for _, noise := range []float64{-60, -50, -40} {
		for _, snr := range []float64{10, 15, 20, 30} {
			if noise+snr < -45 {
				continue // quieter than callers' speech gets
			}
			const lead = 100 // frames of noise first
			pcm := lineNoise(uint64(noise*100+snr), 200*media.FrameSamples, noise)
			add(pcm, lead*media.FrameSamples, voiceLike(60*media.FrameSamples, noise+snr))
			pcm = ulaw(pcm)
			v := media.NewVAD(media.VADConfig{})
			var got []bool
			voiced := 0
			for i, f := range frames(pcm) {
				got = append(got, v.Process(f))
				if i >= lead && i < lead+60 && v.Voiced() {
					voiced++
				}
			}
			first := -1
			for i, s := range got {
				if s {
					first = i
					break
				}
			}
			if first < lead || first > lead+2 {
				t.Errorf("noise %v dBFS, SNR %v dB: speech reported at frame %d, want %d..%d", noise, snr, first, lead, lead+2)
				continue
			}
			if o := v.OnsetFrame(); o < lead-1 || o > lead {
				t.Errorf("noise %v dBFS, SNR %v dB: onset frame %d, want %d", noise, snr, o, lead)
			}
			if voiced < 45 {
				t.Errorf("noise %v dBFS, SNR %v dB: %d voiced frames of 60", noise, snr, voiced)
			}
			if c := count(got[lead : lead+60]); c < 55 {
				t.Errorf("noise %v dBFS, SNR %v dB: %d of 60 frames called speech", noise, snr, c)
			}
			// The hangover is longer at low SNR, up to 8 frames.
			if c := count(got[lead+70:]); c != 0 {
				t.Errorf("noise %v dBFS, SNR %v dB: %d frames after the signal called speech", noise, snr, c)
			}
		}
	}
}

func TestVADAdaptsToRaisedNoise(t *testing.T) {
	const before = 100 // frames at -50 dBFS
	pcm := lineNoise(7, before*media.FrameSamples, -50)
	pcm = append(pcm, lineNoise(8, 500*media.FrameSamples, -35)...)
	pcm = ulaw(pcm)
	v := media.NewVAD(media.VADConfig{})
	got := vadRun(v, pcm)
	c := count(got[before:])
	// Bounded by VADConfig.StationaryFrames (40) plus the hangover.
	if c > 42 {
		t.Errorf("raised noise called speech for %d frames, want ≤ 42", c)
	}
	if c2 := count(got[before+60:]); c2 != 0 {
		t.Errorf("still called speech %d times after the first 60 frames of louder noise", c2)
	}
	if f := v.NoiseFloor(); f < -38 || f > -34 {
		t.Errorf("floor %.1f dBFS, want about -35", f)
	}
	t.Logf("noise step -50 → -35 dBFS: speech for %d frames, floor now %.1f dBFS", c, v.NoiseFloor())

	// A step down needs no such grace: the floor follows within frames.
	pcm = append(lineNoise(9, 100*media.FrameSamples, -35), lineNoise(10, 100*media.FrameSamples, -55)...)
	v = media.NewVAD(media.VADConfig{})
	got = vadRun(v, ulaw(pcm))
	if c := count(got); c != 0 {
		t.Errorf("noise step down called speech for %d frames", c)
	}
	if f := v.NoiseFloor(); f > -53 {
		t.Errorf("floor %.1f dBFS after the step down, want about -55", f)
	}
}

func TestVADClickIsNotSpeech(t *testing.T) {
	for off := 0; off < media.FrameSamples; off += 20 {
		pcm := lineNoise(11, 150*media.FrameSamples, -50)
		click := make([]float64, 240) // 30 ms
		r := rand.New(rand.NewPCG(12, uint64(off)))
		for i := range click {
			click[i] = r.NormFloat64() * math.Exp(-float64(i)/80)
		}
		add(pcm, 50*media.FrameSamples+off, scaleTo(click, -15))
		pcm = ulaw(pcm)
		v := media.NewVAD(media.VADConfig{})
		e := media.NewEndpointer(media.EndpointConfig{})
		e.StartTimer()
		var speech int
		for _, f := range frames(pcm) {
			s := v.Process(f)
			if s {
				speech++
			}
			switch ev := e.Frame(s); ev {
			case media.EventSpeechConfirmed, media.EventEnd:
				t.Errorf("click at +%d samples: %v", off, ev)
			}
		}
		if speech > 2 {
			t.Errorf("click at +%d samples called speech for %d frames", off, speech)
		}
	}
}

func TestVADDigitalSilenceKeepsTheFloor(t *testing.T) {
	// Lost packets filled with zeros between stretches of line noise must
	// not drag the floor down so far that the noise looks like speech.
	var pcm []int16
	for i := range 10 {
		pcm = append(pcm, make([]int16, 10*media.FrameSamples)...)
		pcm = append(pcm, lineNoise(uint64(20+i), 40*media.FrameSamples, -45)...)
	}
	v := media.NewVAD(media.VADConfig{})
	if c := count(vadRun(v, ulaw(pcm))); c != 0 {
		t.Errorf("noise after gaps of digital silence called speech for %d frames", c)
	}
}

func TestVADReset(t *testing.T) {
	v := media.NewVAD(media.VADConfig{})
	vadRun(v, voiceLike(50*media.FrameSamples, -20))
	v.Reset()
	if !math.IsInf(v.NoiseFloor(), -1) || v.OnsetFrame() != -1 || v.Voiced() {
		t.Errorf("after Reset: floor %v, onset %d, voiced %v", v.NoiseFloor(), v.OnsetFrame(), v.Voiced())
	}
}

func TestVADDoesNotAllocate(t *testing.T) {
	pcm := ulaw(lineNoise(30, 100*media.FrameSamples, -50))
	add(pcm, 0, voiceLike(50*media.FrameSamples, -25))
	fs := frames(pcm)
	v := media.NewVAD(media.VADConfig{})
	e := media.NewEndpointer(media.EndpointConfig{})
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		e.Frame(v.Process(fs[i%len(fs)]))
		i++
	})
	if allocs != 0 {
		t.Errorf("%v allocations per frame", allocs)
	}
}

// BenchmarkVADEndpoint measures one frame through the VAD and the
// Endpointer: on talk in short bursts (160 ms of voice, 240 ms of noise:
// voicing is searched on every voice frame), on continuous talk (where it
// is searched at the start only, see VAD.Voiced) and on line noise.
func BenchmarkVADEndpoint(b *testing.B) {
	var bursts []int16
	voice := voiceLike(8*media.FrameSamples, -25)
	for i := range 10 {
		bursts = append(bursts, voice...)
		bursts = append(bursts, lineNoise(uint64(i), 12*media.FrameSamples, -50)...)
	}
	for _, bc := range []struct {
		name string
		pcm  []int16
	}{
		{"bursts", ulaw(bursts)},
		{"speech", ulaw(voiceLike(100*media.FrameSamples, -25))},
		{"noise", ulaw(lineNoise(31, 100*media.FrameSamples, -50))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			fs := frames(bc.pcm)
			v := media.NewVAD(media.VADConfig{})
			e := media.NewEndpointer(media.EndpointConfig{})
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if e.Frame(v.Process(fs[i%len(fs)])) == media.EventEnd {
					e.Reset()
				}
				i++
			}
		})
	}
}
