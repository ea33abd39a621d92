package media_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/switchboard-voice/switchboard/media"
	"github.com/switchboard-voice/switchboard/tts"
)

const frameMs = int(media.FrameDuration / time.Millisecond)

// timed is an event and the index of the frame that caused it.
type timed struct {
	frame int
	ev    media.Event
}

// feed gives e one frame per character of s ('s' speech, '.' silence) and
// returns the events.
func feed(e *media.Endpointer, s string) []timed {
	var out []timed
	for _, c := range s {
		i := e.Frames()
		if ev := e.Frame(c == 's'); ev != media.EventNone {
			out = append(out, timed{i, ev})
		}
	}
	return out
}

func frames1(n int, c string) string { return strings.Repeat(c, n) }

func TestEndpointerDefaults(t *testing.T) {
	e := media.NewEndpointer(media.EndpointConfig{})
	// 300 ms of speech, a 400 ms pause, 500 ms of speech, then silence.
	got := feed(e, frames1(10, ".")+frames1(15, "s")+frames1(20, ".")+frames1(25, "s")+frames1(100, "."))
	want := []timed{
		{10, media.EventSpeechStart},
		{10 + 12, media.EventSpeechConfirmed}, // the 13th speech frame is 260 ms ≥ 250 ms
		{10 + 15 + 20 + 25 + 34, media.EventEnd},
	}
	if !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	if s := e.SpeechStart(); s != 10 {
		t.Errorf("SpeechStart %d, want 10", s)
	}
	// The turn is over: nothing more.
	if got := feed(e, frames1(20, "s")); len(got) != 0 {
		t.Errorf("after the end: %v", got)
	}
	if e.Frames() != 190 {
		t.Errorf("Frames %d, want 190", e.Frames())
	}
}

func TestEndpointerNoInputStartsWithTheTimer(t *testing.T) {
	e := media.NewEndpointer(media.EndpointConfig{NoInput: time.Second})
	// The prompt plays for 3 s: no timer yet.
	if got := feed(e, frames1(150, ".")); len(got) != 0 {
		t.Fatalf("while the prompt plays: %v", got)
	}
	e.StartTimer()
	got := feed(e, frames1(100, "."))
	want := []timed{{150 + 49, media.EventNoInput}}
	if !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

func TestEndpointerBargeInDuringPromptIsInput(t *testing.T) {
	e := media.NewEndpointer(media.EndpointConfig{NoInput: time.Second})
	got := feed(e, frames1(20, ".")+frames1(30, "s"))
	e.StartTimer() // the barge-in stopped the prompt
	got = append(got, feed(e, frames1(100, "s")+frames1(100, "."))...)
	want := []timed{
		{20, media.EventSpeechStart},
		{32, media.EventSpeechConfirmed},
		{150 + 34, media.EventEnd},
	}
	if !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

func TestEndpointerBlipKeepsTheNoInputTimer(t *testing.T) {
	e := media.NewEndpointer(media.EndpointConfig{NoInput: time.Second, EndSilence: 200 * time.Millisecond})
	e.StartTimer()
	got := feed(e, frames1(10, ".")+"sss"+frames1(100, "."))
	want := []timed{
		{10, media.EventSpeechStart},
		{13 + 9, media.EventBlip},
		{49, media.EventNoInput},
	}
	if !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	// A blip that runs past the no-input time gives way to it at once.
	e = media.NewEndpointer(media.EndpointConfig{NoInput: 400 * time.Millisecond, EndSilence: 200 * time.Millisecond})
	e.StartTimer()
	got = feed(e, frames1(15, ".")+"ssss"+frames1(20, "."))
	want = []timed{{15, media.EventSpeechStart}, {19 + 9, media.EventBlip}, {29, media.EventNoInput}}
	if !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

func TestEndpointerMaxSpeech(t *testing.T) {
	e := media.NewEndpointer(media.EndpointConfig{MaxSpeech: time.Second})
	got := feed(e, "..."+frames1(100, "s"))
	want := []timed{{3, media.EventSpeechStart}, {15, media.EventSpeechConfirmed}, {3 + 49, media.EventMaxSpeech}}
	if !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

func TestEndpointerEndNow(t *testing.T) {
	e := media.NewEndpointer(media.EndpointConfig{})
	feed(e, frames1(20, "s"))
	e.EndNow()
	if got := feed(e, "s."); !slices.Equal(got, []timed{{20, media.EventEnd}}) {
		t.Errorf("after EndNow: %v", got)
	}
	e.Reset()
	if e.Frames() != 0 || e.SpeechStart() != -1 || e.Confirmed() {
		t.Errorf("after Reset: frames %d, start %d, confirmed %v", e.Frames(), e.SpeechStart(), e.Confirmed())
	}
	if got := feed(e, frames1(400, ".")); len(got) != 0 {
		t.Errorf("after Reset without StartTimer: %v", got)
	}
}

func TestEndpointPresets(t *testing.T) {
	for _, name := range []string{"yes_no", "digits", "menu", "free_text"} {
		c, ok := media.Preset(name)
		if !ok || c.EndSilence == 0 || c.MaxSpeech == 0 || c.NoInput == 0 || c.MinSpeech == 0 {
			t.Errorf("Preset(%q) = %+v, %v", name, c, ok)
		}
	}
	if _, ok := media.Preset("chatty"); ok {
		t.Error("Preset accepted an unknown name")
	}
	yn, _ := media.Preset("yes_no")
	ft, _ := media.Preset("free_text")
	dg, _ := media.Preset("digits")
	if !(yn.EndSilence < dg.EndSilence && dg.EndSilence < ft.EndSilence) {
		t.Errorf("end silences yes_no %v, digits %v, free_text %v: want increasing", yn.EndSilence, dg.EndSilence, ft.EndSilence)
	}
}

// corpusEntry is one fixture of testdata/speech/manifest.yaml.
type corpusEntry struct {
	File        string  `yaml:"file"`
	Kind        string  `yaml:"kind"`
	Text        string  `yaml:"text"`
	Voice       string  `yaml:"voice"`
	SNR         string  `yaml:"snr"`
	Speech      [][]int `yaml:"speech"`
	Backchannel bool    `yaml:"backchannel"`
}

const corpusDir = "../testdata/speech"

func loadCorpus(t *testing.T) []corpusEntry {
	b, err := os.ReadFile(filepath.Join(corpusDir, "manifest.yaml"))
	if os.IsNotExist(err) {
		t.Skip("no speech corpus in " + corpusDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	var m []corpusEntry
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// listenResult is what the VAD and the Endpointer made of a recording.
type listenResult struct {
	onsetMs     int // start of the VAD's first speech segment, -1 if none
	detectMs    int // end of the frame where Process first returned true
	events      []timed
	speechMs    int // frames called speech, in ms
	longestMs   int // longest run of speech frames
	voiced      int // voiced frames while speech was on
	endMs       int // end of the frame that gave EventEnd, -1 if none
	noInputMs   int
	confirmedMs int
}

func (r listenResult) has(ev media.Event) bool {
	return slices.ContainsFunc(r.events, func(x timed) bool { return x.ev == ev })
}

func listen(pcm []int16, cfg media.EndpointConfig) listenResult {
	v := media.NewVAD(media.VADConfig{})
	e := media.NewEndpointer(cfg)
	e.StartTimer()
	r := listenResult{onsetMs: -1, detectMs: -1, endMs: -1, noInputMs: -1, confirmedMs: -1}
	run := 0
	for i, f := range frames(pcm) {
		s := v.Process(f)
		if s {
			if r.detectMs < 0 {
				r.detectMs = (i + 1) * frameMs
				r.onsetMs = v.OnsetFrame() * frameMs
			}
			r.speechMs += frameMs
			run += frameMs
			r.longestMs = max(r.longestMs, run)
			if v.Voiced() {
				r.voiced++
			}
		} else {
			run = 0
		}
		ev := e.Frame(s)
		if ev == media.EventNone {
			continue
		}
		r.events = append(r.events, timed{i, ev})
		at := (i + 1) * frameMs
		switch ev {
		case media.EventEnd:
			r.endMs = at
		case media.EventNoInput:
			r.noInputMs = at
		case media.EventSpeechConfirmed:
			r.confirmedMs = at
		}
	}
	return r
}

// padTo lengthens pcm to at least ms by repeating its last 500 ms, which in
// every corpus file is line noise (or silence) only.
func padTo(pcm []int16, ms int) []int16 {
	n := ms * media.SampleRate / 1000
	tail := slices.Clone(pcm[len(pcm)-media.SampleRate/2:])
	for len(pcm) < n {
		pcm = append(pcm, tail...)
	}
	return pcm
}

func TestVADEndpointCorpus(t *testing.T) {
	corpus := loadCorpus(t)
	cfg := media.EndpointConfig{} // the defaults: EndSilence 700 ms, NoInput 5 s
	const endSilence = 700
	type stat struct{ onset, detect, end []int }
	stats := map[string]*stat{}
	var distractors []string
	for _, m := range corpus {
		pcm, err := tts.LoadFile(filepath.Join(corpusDir, m.File))
		if err != nil {
			t.Fatal(err)
		}
		switch m.Kind {
		case "silence":
			pcm = padTo(pcm, 6000)
			r := listen(pcm, cfg)
			if r.confirmedMs >= 0 || r.noInputMs != 5000 {
				t.Errorf("%s: confirmed at %d ms, no input at %d ms; want none and 5000 ms (events %v)", m.File, r.confirmedMs, r.noInputMs, r.events)
			}
			if r.speechMs > 0 {
				t.Errorf("%s: %d ms called speech", m.File, r.speechMs)
			}
		case "distractor":
			segs := m.Speech
			last := segs[len(segs)-1][1]
			pcm = padTo(pcm, last+endSilence+1000)
			r := listen(pcm, cfg)
			outcome := "nothing"
			switch {
			case r.confirmedMs >= 0:
				outcome = fmt.Sprintf("confirmed at %d ms (utterance)", r.confirmedMs)
			case r.has(media.EventBlip):
				outcome = "blip"
			}
			line := fmt.Sprintf("%-42s bc=%-5v sound %4d ms: speech %4d ms (longest %4d), voiced %2d frames, %s",
				m.File, m.Backchannel, totalMs(segs), r.speechMs, r.longestMs, r.voiced, outcome)
			distractors = append(distractors, line)
			// Barge-in tells coughs and breath from speech by voicing, as
			// they last long enough to pass MinSpeech.
			if strings.Contains(m.File, "cough") || strings.Contains(m.File, "breath") {
				if r.voiced > 3 {
					t.Errorf("%s: %d voiced frames, want at most 3", m.File, r.voiced)
				}
			} else if m.Backchannel && r.voiced < 10 {
				t.Errorf("%s: %d voiced frames, want at least 10", m.File, r.voiced)
			}
		default: // intent, menu, pause, offgrammar: speech
			segs := m.Speech
			first, last := segs[0][0], segs[len(segs)-1][1]
			pcm = padTo(pcm, last+endSilence+1000)
			r := listen(pcm, cfg)
			if d := r.onsetMs - first; r.onsetMs < 0 || d < -100 || d > 100 {
				t.Errorf("%s: onset at %d ms, want %d ± 100", m.File, r.onsetMs, first)
			}
			// At 10 dB SNR the last 100–200 ms of some words (the z of
			// "please") are below the noise, so the end is heard that much
			// early. That is no cut-off: the caller had finished, and the
			// audio up to EventEnd holds the whole word.
			want, early := last+endSilence, -120
			if m.SNR == "10" {
				early = -200
			}
			if d := r.endMs - want; r.endMs < 0 || d < early || d > 120 {
				t.Errorf("%s: end at %d ms, want %d %+d/+120 (events %v)", m.File, r.endMs, want, early, r.events)
			}
			n := 0
			for _, x := range r.events {
				if x.ev == media.EventSpeechConfirmed {
					n++
				}
			}
			if n != 1 || r.has(media.EventBlip) {
				t.Errorf("%s: events %v, want one utterance", m.File, r.events)
			}
			key := m.SNR
			if m.Kind == "pause" {
				key += " pause"
			}
			s := stats[key]
			if s == nil {
				s = &stat{}
				stats[key] = s
			}
			s.onset = append(s.onset, r.onsetMs-first)
			s.detect = append(s.detect, r.detectMs-first)
			s.end = append(s.end, r.endMs-last)
		}
	}
	keys := make([]string, 0, len(stats))
	for k := range stats {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := stats[k]
		t.Logf("snr %-11s n=%3d  onset error ms %s  reported after ms %s  end of speech → EventEnd ms %s",
			k, len(s.onset), summary(s.onset), summary(s.detect), summary(s.end))
	}
	for _, l := range distractors {
		t.Log(l)
	}
}

func totalMs(segs [][]int) int {
	n := 0
	for _, s := range segs {
		n += s[1] - s[0]
	}
	return n
}

// summary gives min/median/max and the mean of xs.
func summary(xs []int) string {
	s := slices.Clone(xs)
	slices.Sort(s)
	var sum float64
	for _, x := range s {
		sum += float64(x)
	}
	return fmt.Sprintf("min %4d med %4d max %4d mean %6.1f", s[0], s[len(s)/2], s[len(s)-1], sum/float64(len(s)))
}
