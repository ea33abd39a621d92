package replay

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/switchboard-voice/switchboard/internal/dsp"
	"github.com/switchboard-voice/switchboard/ivr"
	"github.com/switchboard-voice/switchboard/media"
	"github.com/switchboard-voice/switchboard/tts"
)

// Levels of the caller's line, as in the speech corpus (testdata/speech).
const (
	floorDBFS   = -65.0 // line noise under everything
	speechDBFS  = -16.0 // say: RMS over the speech
	speechPeak  = -2.0  // say: ... unless the peak would pass this
	activeDBFS  = -50.0 // what counts as the speech when measuring it
	noiseSeed   = 0x5eed
	sampleRate  = media.SampleRate
	frameLen    = media.FrameSamples
	frameLength = media.FrameDuration
)

// frames converts d to a whole number of frames, at least one.
func frames(d time.Duration) int { return max(1, int((d+frameLength/2)/frameLength)) }

// caller plays the scenario's steps, one frame per slot of the virtual
// clock. Each step starts on a frame boundary; a clip's last frame is
// filled up with line noise.
type caller struct {
	steps []Step
	clips [][]int16 // by step: the audio of say and audio steps
	i     int       // the current step
	pos   int       // frames of it done
	// prev is the flow's state as the caller's previous step began (a
	// previous wait: as it ended), cur as the current one began. A wait
	// looks for what happened since prev, so a node the flow entered
	// while the caller was still pressing or talking counts.
	prev, cur flowSnap
	seen      bool // wait: the node has been reached
	noise     *noiseGen
}

// flowSnap is the flow's progress at a moment.
type flowSnap struct {
	visits  map[string]int // entries by node
	listens int            // listening turns begun
}

// flowState is what a waiting caller can see of the flow.
type flowState interface {
	snapshot() flowSnap
	visits(node string) int
	// listening reports whether the flow is listening after a prompt, and
	// how many listening turns had begun when it started.
	listening() (on bool, turn int)
	// enteredAt is how many listening turns had begun as the flow last
	// entered node.
	enteredAt(node string) int
}

func newCaller(steps []Step, clips [][]int16, fs flowState) *caller {
	c := &caller{steps: steps, clips: clips, noise: newNoise(noiseSeed)}
	c.cur = fs.snapshot()
	c.prev = c.cur
	return c
}

func (c *caller) advance(fs flowState) {
	now := fs.snapshot()
	// A step acts from its beginning; a wait, at its end.
	c.prev = c.cur
	if c.steps[c.i].Kind == StepWait {
		c.prev = now
	}
	c.i++
	c.pos = 0
	c.seen = false
	c.cur = now
}

// frame writes the caller's next frame into pcm and returns the key
// pressed in it (0 for none), and whether the caller hangs up instead.
func (c *caller) frame(fs flowState, pcm []int16) (key byte, hangup bool) {
	for {
		if c.i >= len(c.steps) {
			c.noise.fill(pcm)
			return 0, false
		}
		st := &c.steps[c.i]
		switch st.Kind {
		case StepHangup:
			c.advance(fs)
			return 0, true
		case StepWait:
			if !c.waitOver(st, fs) {
				c.noise.fill(pcm)
				return 0, false
			}
			c.advance(fs)
		case StepSilence:
			c.noise.fill(pcm)
			c.pos++
			if c.pos >= frames(st.Duration) {
				c.advance(fs)
			}
			return 0, false
		case StepSay, StepAudio:
			clip := c.clips[c.i]
			n := (len(clip) + frameLen - 1) / frameLen
			if n == 0 {
				c.advance(fs)
				continue
			}
			off := c.pos * frameLen
			k := copy(pcm, clip[off:min(len(clip), off+frameLen)])
			if k < frameLen {
				c.noise.fill(pcm[k:])
			}
			c.pos++
			if c.pos >= n {
				c.advance(fs)
			}
			return 0, false
		case StepDTMF:
			every := frames(st.Every)
			c.noise.fill(pcm)
			if c.pos%every == 0 {
				key = st.Keys[c.pos/every]
			}
			c.pos++
			if c.pos >= every*len(st.Keys) {
				c.advance(fs)
			}
			return key, false
		default:
			c.advance(fs)
		}
	}
}

// waitOver reports whether a wait step is over: the node entered (its
// visit-th time, or once more since the previous step began), then a
// listening turn begun since then.
func (c *caller) waitOver(st *Step, fs flowState) bool {
	if st.Node != "" && !c.seen {
		v := fs.visits(st.Node)
		if st.Visit > 0 && v < st.Visit || st.Visit == 0 && v <= c.prev.visits[st.Node] {
			return false
		}
		c.seen = true
	}
	if !st.Listening {
		return true
	}
	on, turn := fs.listening()
	if !on || turn <= c.prev.listens {
		return false
	}
	return st.Node == "" || turn > fs.enteredAt(st.Node)
}

// noiseGen makes line noise: Gaussian, band-limited to about 200-3400 Hz
// by one-pole filters, at floorDBFS, from a fixed seed so every run of a
// scenario hears the same line.
type noiseGen struct {
	r            *rand.Rand
	lp, hpIn, hp float64
	gain         float64
}

func newNoise(seed uint64) *noiseGen {
	// The filters take the unit-variance input down to about 0.47 RMS.
	const filteredRMS = 0.47
	return &noiseGen{
		r:    rand.New(rand.NewPCG(seed, 0x11ce)),
		gain: 32768 * math.Pow(10, floorDBFS/20) / filteredRMS,
	}
}

func (g *noiseGen) sample() float64 {
	const aLP, aHP = 0.75, 0.85
	x := g.r.NormFloat64()
	g.lp += aLP * (x - g.lp)
	g.hp = aHP * (g.hp + g.lp - g.hpIn)
	g.hpIn = g.lp
	return g.hp * g.gain
}

// fill writes noise into pcm, through µ-law like everything on the line.
func (g *noiseGen) fill(pcm []int16) {
	for i := range pcm {
		pcm[i] = clip16(g.sample())
	}
	ulawLine(pcm)
}

// mix adds noise to pcm in place (no µ-law).
func (g *noiseGen) mix(pcm []int16) {
	for i := range pcm {
		pcm[i] = clip16(float64(pcm[i]) + g.sample())
	}
}

func clip16(v float64) int16 {
	return int16(math.Round(max(-32768, min(32767, v))))
}

// ulawLine passes pcm through G.711 µ-law and back, in place.
func ulawLine(pcm []int16) {
	var buf [frameLen]byte
	for off := 0; off < len(pcm); off += frameLen {
		p := pcm[off:min(len(pcm), off+frameLen)]
		media.EncodeULaw(buf[:len(p)], p)
		media.DecodeULaw(p, buf[:len(p)])
	}
}

// voices renders say steps that name a voice or a speed, one cache per
// voice and speed for the process.
var voices = struct {
	sync.Mutex
	m map[string]*tts.Cache
}{m: map[string]*tts.Cache{}}

func voiceCache(voice string, wpm int) *tts.Cache {
	key := fmt.Sprintf("%s/%d", voice, wpm)
	voices.Lock()
	defer voices.Unlock()
	c := voices.m[key]
	if c == nil {
		c = tts.NewCache(&tts.Espeak{Voice: cmp.Or(voice, "en-us"), Speed: wpm})
		voices.m[key] = c
	}
	return c
}

// render returns the caller's audio for each say and audio step.
func render(ctx context.Context, steps []Step, prompts ivr.Prompts) ([][]int16, error) {
	clips := make([][]int16, len(steps))
	g := newNoise(noiseSeed + 1)
	for i, st := range steps {
		switch st.Kind {
		case StepSay:
			var pcm []int16
			var err error
			if st.Voice != "" || st.WPM != 0 {
				pcm, err = voiceCache(st.Voice, st.WPM).Text(ctx, st.Text)
			} else if prompts != nil {
				pcm, err = prompts.Text(ctx, st.Text)
			} else {
				err = fmt.Errorf("no synthesiser")
			}
			if err != nil {
				return nil, fmt.Errorf("line %d: say %q: %w", st.Line, st.Text, err)
			}
			// The cache shares its audio: work on a copy.
			pcm = normalise(append([]int16(nil), pcm...), cmp.Or(st.Level, speechDBFS))
			g.mix(pcm)
			ulawLine(pcm)
			clips[i] = pcm
		case StepAudio:
			pcm := append([]int16(nil), st.audio...)
			ulawLine(pcm)
			clips[i] = pcm
		}
	}
	return clips, nil
}

// normalise scales speech to level dBFS RMS over its active part, unless
// that would take the peak past speechPeak, as the speech corpus is.
func normalise(pcm []int16, level float64) []int16 {
	start, end := dsp.ActiveBounds(pcm, sampleRate, activeDBFS)
	if start >= end {
		return pcm
	}
	rms := dsp.DBFS(pcm[start:end])
	peak := 0
	for _, v := range pcm {
		peak = max(peak, abs(int(v)))
	}
	gain := level - rms
	if pk := 20 * math.Log10(float64(peak)/32768); pk+gain > speechPeak {
		gain = speechPeak - pk
	}
	g := math.Pow(10, gain/20)
	for i, v := range pcm {
		pcm[i] = clip16(float64(v) * g)
	}
	return pcm
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
