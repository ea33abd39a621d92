package media

import "math"

// VADConfig tunes a VAD. Every zero field takes the default given with it,
// so the zero value is the configuration to use on telephone lines.
type VADConfig struct {
	// OnsetDB is how far above the noise floor a frame's level must be to
	// count towards the start of speech; default 9 dB. Frame levels of
	// steady line noise wander ±1–2 dB around their mean and the floor sits
	// at their low edge, so 9 dB keeps noise out while the vowels of speech
	// at 10 dB SNR (15 dB or more above the noise) still clear it.
	OnsetDB float64
	// OffsetDB is how far above the noise floor speech that has started
	// must stay to go on; default 4 dB. The gap to OnsetDB is the
	// hysteresis that keeps the quieter consonants and the decay of a word
	// inside the speech.
	OffsetDB float64
	// MinLevel is the quietest level in dBFS that can start speech, however
	// low the noise; default −55 dBFS. On a quiet digital line the floor
	// can fall to µ-law's last steps (−70 dBFS and below), where breath and
	// lip noise clear any relative threshold. Speech goes on down to
	// MinLevel − (OnsetDB − OffsetDB).
	MinLevel float64
	// OnsetFrames is how many consecutive frames must clear the onset
	// threshold before speech starts; default 3 (60 ms). A click or a
	// dropped-packet glitch is one or two frames long.
	OnsetFrames int
	// Hangover is how many frames speech stays on after the level falls
	// below the offset threshold; default 1 (20 ms), negative for none.
	// It is kept short on purpose: every hangover frame adds to the pause
	// an Endpointer measures, and the pause is the Endpointer's business;
	// ResumeFrames bridges the gaps inside words instead. On a noisy line
	// the hangover grows by a frame for every 3 dB that the segment's
	// loudest frame is less than 30 dB above the floor, up to 8 frames
	// (160 ms), since that much of the end of a word is below the noise:
	// 20 dB SNR adds about 40 ms, 10 dB about 100 ms.
	Hangover int
	// FloorDown is the fraction of the distance to a quieter level that the
	// noise floor moves per frame; default 0.3, so the floor follows the
	// noise down within some 100 ms. It takes two quiet frames in a row to
	// move the floor down.
	FloorDown float64
	// FloorUp is the fraction of the distance to a louder frame that the
	// noise floor moves per frame when the frame is not speech and does not
	// clear the onset threshold; default 0.02 (a time constant of 1 s).
	// The floor never moves up while speech is on, except as StationaryDB
	// allows.
	FloorUp float64
	// StationaryFrames and StationaryDB say when "speech" is really a new,
	// louder noise: once speech has lasted StationaryFrames and the levels
	// of its last StationaryFrames frames lie within StationaryDB of each
	// other, the floor jumps to their minimum, which ends the speech.
	// Speech rises and falls by 10 dB and more several times a second;
	// fan or line noise does not. Defaults 40 frames (800 ms) and 6 dB.
	// This bounds how long a sudden step up in the noise is taken for
	// speech. StationaryFrames is at most 128.
	StationaryFrames int
	StationaryDB     float64
	// ResumeFrames is how soon after speech has stopped it resumes on a
	// single frame instead of OnsetFrames; default 10 (200 ms). Words have
	// closures of 50–150 ms (the silence before the burst of p, t, k) that
	// a long hangover would otherwise have to bridge.
	ResumeFrames int
	// BacktrackDB places the onset: OnsetFrame goes back from the onset
	// run over the frames just before it that were at least BacktrackDB
	// above the floor (at most 10 frames), where a soft first consonant
	// such as h or f rises out of the noise; default 3 dB.
	BacktrackDB float64
	// VoicingThreshold is the normalised autocorrelation peak in the pitch
	// range (70–400 Hz) above which a frame is voiced; default 0.5. Vowels
	// reach 0.7–0.95 (less at low SNR); noise, breath and most of a cough
	// stay below 0.4.
	VoicingThreshold float64
}

const (
	// silentLevel is the level below which a frame is taken for digital
	// silence (a jitter buffer's fill for a lost packet, or a line before
	// media flows) and says nothing about the noise floor. µ-law's smallest
	// non-zero step is about −72 dBFS.
	silentLevel = -80.0
	// vadRing is the capacity of the ring of recent levels.
	vadRing = 128
	// Voicing runs at 4 kHz (pairs of samples averaged), which halves the
	// lags and the frame: lags 10–57 are 400–70 Hz.
	vHalf   = FrameSamples / 2
	vMinLag = 10
	vMaxLag = 57
	// voicedEnough is how many voiced frames a speech segment needs before
	// its later frames are taken as voiced without a look; see Voiced.
	voicedEnough = 10
)

func (c VADConfig) withDefaults() VADConfig {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.OnsetDB, 9)
	def(&c.OffsetDB, 4)
	def(&c.MinLevel, -55)
	def(&c.FloorDown, 0.3)
	def(&c.FloorUp, 0.02)
	def(&c.StationaryDB, 6)
	def(&c.VoicingThreshold, 0.5)
	def(&c.BacktrackDB, 3)
	if c.ResumeFrames <= 0 {
		c.ResumeFrames = 10
	}
	if c.OnsetFrames <= 0 {
		c.OnsetFrames = 3
	}
	switch {
	case c.Hangover == 0:
		c.Hangover = 1
	case c.Hangover < 0:
		c.Hangover = 0
	}
	if c.StationaryFrames <= 0 {
		c.StationaryFrames = 40
	}
	c.StationaryFrames = min(c.StationaryFrames, vadRing)
	c.OffsetDB = min(c.OffsetDB, c.OnsetDB)
	return c
}

// VAD classifies 20 ms frames as speech or not by their level against an
// adaptive noise floor, and tells voiced frames by their periodicity. It
// keeps its state between frames, so one VAD follows one stream; it is not
// safe for concurrent use. Process does not allocate; on this project's
// 2-core test machine it takes some 1.3 µs for a frame it searches for
// voicing, 0.35 µs for one it does not (see BenchmarkVADEndpoint).
//
// On the synthetic telephone corpus (testdata/speech, µ-law, clean, 20 dB
// and 10 dB SNR) OnsetFrame is never early and at most 80 ms late (0 ms
// in the median), and Process reports speech 40–140 ms after it
// starts; see TestVADEndpointCorpus for the figures.
type VAD struct {
	cfg VADConfig

	// hp is a 2nd-order Butterworth high-pass at 100 Hz: it takes out DC
	// and mains hum, which would otherwise count as level and, being
	// periodic, as voicing.
	b0, b1, b2, a1, a2 float64
	x1, x2, y1, y2     float64

	floor    float64
	floorSet bool
	level    float64
	prev     float64 // level of the frame before
	frames   int     // frames processed

	speech   bool
	run      int     // consecutive frames clearing the onset threshold
	vrun     int     // consecutive voiced frames
	segPeak  float64 // loudest frame of the speech segment
	hang     int     // hangover frames left
	since    int     // frames since speech stopped
	segFrame int     // frames since the speech segment started
	onset    int     // frame index of the current or last segment's first frame
	voiced   bool
	nVoiced  int
	peak     float64

	ring [vadRing]float64
	pos  int

	// hist holds the last vMaxLag+vHalf samples at 4 kHz, newest last.
	hist [vMaxLag + vHalf]float64
	cum  [vMaxLag + vHalf + 1]float64
}

// NewVAD returns a VAD configured by cfg, its zero fields defaulted.
func NewVAD(cfg VADConfig) *VAD {
	v := &VAD{cfg: cfg.withDefaults()}
	// RBJ cookbook high-pass, Q = 1/√2.
	w := 2 * math.Pi * 100 / SampleRate
	alpha := math.Sin(w) / math.Sqrt2
	a0 := 1 + alpha
	c := math.Cos(w)
	v.b0 = (1 + c) / 2 / a0
	v.b1 = -(1 + c) / a0
	v.b2 = v.b0
	v.a1 = -2 * c / a0
	v.a2 = (1 - alpha) / a0
	v.Reset()
	return v
}

// Reset forgets the stream: the noise floor is learnt again from the next
// frame that is not digital silence.
func (v *VAD) Reset() {
	cfg, b0, b1, b2, a1, a2 := v.cfg, v.b0, v.b1, v.b2, v.a1, v.a2
	*v = VAD{cfg: cfg, b0: b0, b1: b1, b2: b2, a1: a1, a2: a2}
	v.level = math.Inf(-1)
	v.floor = math.Inf(-1)
	v.prev = math.Inf(1)
	v.onset = -1
	v.since = math.MaxInt32
}

// Process classifies one 20 ms frame of FrameSamples samples and reports
// whether speech is on. Speech starts when OnsetFrames frames in a row have
// cleared the onset threshold or been voiced above the offset threshold,
// or OnsetFrames−1 frames in a row have been voiced; it goes on while the
// level stays above the offset threshold, and for the hangover after.
// Speech is therefore reported OnsetFrames−2 or OnsetFrames−1 frames after
// it began (20–40 ms by default); OnsetFrame says where it began.
func (v *VAD) Process(frame []int16) bool {
	idx := v.frames
	v.frames++

	// High-pass, level, and the 4 kHz copy for voicing, in one pass.
	copy(v.hist[:], v.hist[vHalf:])
	newest := v.hist[vMaxLag:]
	// The filter runs two samples a step, each computed from the outputs
	// two and three samples back (y[n+1] with y[n] substituted), so the
	// two chains of multiply-adds overlap instead of waiting on each
	// other: the recursion's latency, not arithmetic, bounds this loop.
	b0, b1, b2, a1, a2 := v.b0, v.b1, v.b2, v.a1, v.a2
	c1, c2 := a1*a1-a2, a1*a2
	var sum0, sum1 float64
	x1, x2, y1, y2 := v.x1, v.x2, v.y1, v.y2
	for i := 0; i+1 < len(frame); i += 2 {
		x, xn := float64(frame[i]), float64(frame[i+1])
		f0 := b0*x + b1*x1 + b2*x2
		f1 := b0*xn + b1*x + b2*x1
		y := (f0 - a2*y2) - a1*y1
		yn := (f1 - a1*f0 + c2*y2) + c1*y1
		x2, x1, y2, y1 = x, xn, y, yn
		sum0 += y * y
		sum1 += yn * yn
		if j := i / 2; j < vHalf {
			newest[j] = (yn + y) / 2
		}
	}
	if n := len(frame); n&1 == 1 {
		// An odd frame's last sample, one step.
		x := float64(frame[n-1])
		y := (b0*x + b1*x1 + b2*x2 - a2*y2) - a1*y1
		x2, x1, y2, y1 = x1, x, y1, y
		sum0 += y * y
	}
	sum := sum0 + sum1
	// Denormals would slow the filter to a crawl on long digital silence.
	if math.Abs(y1) < 1e-20 && math.Abs(y2) < 1e-20 {
		y1, y2 = 0, 0
	}
	v.x1, v.x2, v.y1, v.y2 = x1, x2, y1, y2

	lvl := -120.0
	if n := len(frame); n > 0 && sum > 0 {
		lvl = max(-120, 10*math.Log10(sum/float64(n)/(32768*32768)))
	}
	v.level = lvl
	v.ring[v.pos] = lvl
	v.pos = (v.pos + 1) % vadRing

	prev := v.prev
	v.prev = lvl
	if lvl < silentLevel {
		// Digital silence: not speech, and no evidence about the noise.
		// Nor is the frame after it, which may be partly silent.
		if v.speech {
			v.since = 0
		}
		v.speech, v.run, v.vrun, v.hang, v.voiced, v.peak = false, 0, 0, 0, false, 0
		v.prev = math.Inf(1)
		return false
	}
	if !v.floorSet {
		v.floor, v.floorSet = lvl, true
	}
	cfg := &v.cfg
	onThr := max(v.floor+cfg.OnsetDB, cfg.MinLevel)
	offThr := max(v.floor+cfg.OffsetDB, cfg.MinLevel-(cfg.OnsetDB-cfg.OffsetDB))

	// Voicing only matters for frames that may be speech; skipping it
	// elsewhere keeps the cost of a quiet line down.
	// Nor does it, past the first voicedEnough voiced frames, for frames
	// that go on a speech segment: such a frame continues the speech
	// whatever its voicing, so voicing would only be reported, and the
	// segment has long shown that it is a voice. That is most of a
	// talking caller's frames.
	v.voiced, v.peak = false, 0
	switch {
	case lvl < offThr:
	case v.speech && v.nVoiced >= voicedEnough:
		v.voiced = true
	default:
		v.peak = v.periodicity()
		v.voiced = v.peak >= cfg.VoicingThreshold
	}
	// A frame counts towards an onset if it clears the onset threshold,
	// or the offset threshold and is voiced: at 10 dB SNR many vowels are
	// less than OnsetDB above the noise, but noise is not periodic. A run
	// of voiced frames needs one frame fewer, as clicks are not voiced.
	if lvl >= onThr || v.voiced {
		v.run++
	} else {
		v.run = 0
	}
	if v.voiced {
		v.vrun++
	} else {
		v.vrun = 0
	}

	switch {
	case v.speech && lvl >= offThr:
		v.hang = cfg.Hangover + tailFrames(v.segPeak-v.floor)
	case v.speech && v.hang > 0:
		v.hang--
	case v.speech:
		v.speech = false
		v.since = 0
	}
	// Speech that stopped a moment ago (the closure of a stop consonant, a
	// breath) resumes on one frame halfway between the thresholds, or
	// voiced.
	resume := v.since < cfg.ResumeFrames && (v.voiced || lvl >= (onThr+offThr)/2)
	if !v.speech && (resume || v.run >= cfg.OnsetFrames || v.vrun >= max(1, cfg.OnsetFrames-1)) {
		v.speech = true
		if !resume {
			n := min(v.run, cfg.OnsetFrames)
			v.segFrame, v.nVoiced = n-1, 0
			_, v.segPeak = v.spread(n)
			v.onset = v.backtrack(idx-(n-1), v.floor+cfg.BacktrackDB)
		}
		v.segPeak = max(v.segPeak, lvl)
		v.hang = cfg.Hangover + tailFrames(v.segPeak-v.floor)
	}
	if !v.speech && v.since < math.MaxInt32 {
		v.since++
	}

	// The floor follows the louder of this frame and the last down, so
	// that one quiet frame (the edge of a gap, a glitch) does not drag it.
	if down := max(lvl, prev); down < v.floor {
		v.floor += cfg.FloorDown * (down - v.floor)
	} else if !v.speech && lvl < onThr {
		v.floor += cfg.FloorUp * (lvl - v.floor)
	}

	if v.speech {
		v.segPeak = max(v.segPeak, lvl)
		v.segFrame++
		if v.voiced {
			v.nVoiced++
		}
		if v.segFrame >= cfg.StationaryFrames {
			if lo, ok := v.steady(cfg.StationaryFrames, cfg.StationaryDB); ok {
				// A new, louder noise, not speech.
				v.floor = lo
				v.speech, v.run, v.vrun, v.hang = false, 0, 0, 0
			}
		}
	}
	return v.speech
}

// Ends of words sink into the noise: at 10 dB SNR the last 100–200 ms of
// "please" are below it. So speech whose loudest frame was less than
// tailSNR above the floor is given one more frame of hangover per tailStep
// dB short, up to tailMax frames, to stand for the part that cannot be
// heard.
const (
	tailSNR  = 30.0
	tailStep = 3.0
	tailMax  = 8
)

func tailFrames(snr float64) int {
	return int(max(0, min(tailMax, (tailSNR-snr)/tailStep)))
}

// backtrack returns the frame index to which the onset at frame start
// extends back: over at most 10 frames before it that were all at least
// thr, and no further back than the stream's start.
func (v *VAD) backtrack(start int, thr float64) int {
	back := v.frames - start // the ring's offset of frame start, from pos
	for k := 1; k <= 10 && start-k >= 0; k++ {
		if v.ring[(v.pos-back-k+2*vadRing)%vadRing] < thr {
			break
		}
		start--
	}
	return start
}

// spread returns the lowest and highest of the last n levels.
func (v *VAD) spread(n int) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for i := 1; i <= n; i++ {
		l := v.ring[(v.pos-i+vadRing)%vadRing]
		lo, hi = min(lo, l), max(hi, l)
	}
	return lo, hi
}

// steady reports whether the last n levels lie within db of each other,
// and if so the lowest of them. It stops at the first pair that is db
// apart, which for speech comes within a few frames.
func (v *VAD) steady(n int, db float64) (lo float64, ok bool) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := 1; i <= n; i++ {
		l := v.ring[(v.pos-i+vadRing)%vadRing]
		lo, hi = min(lo, l), max(hi, l)
		if hi-lo >= db {
			return 0, false
		}
	}
	return lo, true
}

// periodicity returns the highest normalised autocorrelation of the newest
// frame (at 4 kHz) with its past, over lags of 70–400 Hz pitch periods.
func (v *VAD) periodicity() float64 {
	h := &v.hist
	c := &v.cum
	c[0] = 0
	for i, x := range h {
		c[i+1] = c[i] + x*x
	}
	cur := h[vMaxLag : vMaxLag+vHalf]
	e0 := c[len(h)] - c[vMaxLag]
	if e0 <= 0 {
		return 0
	}
	// At 4 kHz a pitch period's correlation peak spans several lags, so
	// every other lag finds it, and the two lags beside the best one
	// refine it: 26 lags instead of 48.
	best, bestLag := 0.0, 0
	for lag := vMinLag; lag <= vMaxLag; lag += 2 {
		if n := corrAt(h, c, cur, e0, lag); n > best {
			best, bestLag = n, lag
		}
	}
	if bestLag == 0 {
		return 0
	}
	for _, lag := range [2]int{bestLag - 1, bestLag + 1} {
		if lag >= vMinLag && lag <= vMaxLag {
			best = max(best, corrAt(h, c, cur, e0, lag))
		}
	}
	return best
}

// corrAt is the normalised correlation of the newest frame cur (energy e0)
// with the frame lag samples before it; c holds the cumulative energies of
// h.
func corrAt(h *[vMaxLag + vHalf]float64, c *[vMaxLag + vHalf + 1]float64, cur []float64, e0 float64, lag int) float64 {
	past := h[vMaxLag-lag : vMaxLag-lag+vHalf]
	// Four sums break the dependency chain of one: twice as fast.
	var r0, r1, r2, r3 float64
	for i := 0; i+3 < vHalf; i += 4 {
		r0 += cur[i] * past[i]
		r1 += cur[i+1] * past[i+1]
		r2 += cur[i+2] * past[i+2]
		r3 += cur[i+3] * past[i+3]
	}
	r := r0 + r1 + r2 + r3
	if r <= 0 {
		return 0
	}
	el := c[vMaxLag-lag+vHalf] - c[vMaxLag-lag]
	if el <= 0 {
		return 0
	}
	// Normalised by the mean of the energies rather than their geometric
	// mean, so that a loud past against a quiet present (the decay of a
	// click) does not pass for periodicity: a 4:1 ratio costs a fifth of
	// the score.
	return 2 * r / (e0 + el)
}

// NoiseFloor returns the current estimate of the noise floor in dBFS (−Inf
// until a frame that is not digital silence has been seen).
func (v *VAD) NoiseFloor() float64 { return v.floor }

// Level returns the level of the last frame in dBFS (relative to a
// full-scale square wave, as dsp.DBFS), measured above 100 Hz.
func (v *VAD) Level() float64 { return v.level }

// Voiced reports whether the last frame was voiced: periodic at a pitch of
// 70–400 Hz, as vowels and voiced consonants are and coughs, breath and
// noise bursts mostly are not. Only frames above the offset threshold are
// examined; the others are never voiced. Once a speech segment has had 10
// voiced frames (200 ms), its later frames above the offset threshold are
// not examined but reported voiced: by then the segment is a voice, and
// the search is most of what a frame of speech costs.
func (v *VAD) Voiced() bool { return v.voiced }

// Periodicity returns the last frame's normalised autocorrelation peak in
// the pitch range, 0 to 1, against which VADConfig.VoicingThreshold is set;
// 0 for a frame that was not examined (see Voiced).
func (v *VAD) Periodicity() float64 { return v.peak }

// VoicedFrames returns how many frames of the current (or last) speech
// segment were voiced, counted from the frame Process first returned true.
func (v *VAD) VoicedFrames() int { return v.nVoiced }

// OnsetFrame returns the index (counted from 0 since NewVAD or Reset) of
// the first frame of the current or last speech segment's onset run: where
// the speech began, OnsetFrames−1 frames before Process reported it. It is
// −1 before any speech.
func (v *VAD) OnsetFrame() int { return v.onset }
