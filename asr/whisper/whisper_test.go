//go:build whisper

package whisper

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/asr"
)

// modelPath is the model the tests load: WHISPER_MODEL. Without one the
// tests fail rather than skip, so a whisper build is never "tested" without
// its backend. whisper.cpp's models/for-tests-ggml-tiny.bin loads and runs
// (it produces no text); the benchmark wants a real model.
func modelPath(tb testing.TB) string {
	tb.Helper()
	p := os.Getenv("WHISPER_MODEL")
	if p == "" {
		tb.Fatal("WHISPER_MODEL is not set: point it at a ggml whisper model, e.g. whisper.cpp's models/for-tests-ggml-tiny.bin (see README.md)")
	}
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("WHISPER_MODEL: %v", err)
	}
	return p
}

func newRecognizer(tb testing.TB, cfg Config) *Recognizer {
	tb.Helper()
	cfg.Model = modelPath(tb)
	r, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

// speechLike is n samples of a vowel-ish signal: a 120 Hz pulse train
// through two formants, amplitude-modulated at the syllable rate.
func speechLike(n int) []int16 {
	pcm := make([]int16, n)
	for i := range pcm {
		t := float64(i) / asr.SampleRate
		v := 0.0
		for h := 1; h <= 20; h++ {
			f := 120 * float64(h)
			g := math.Exp(-math.Pow((f-700)/150, 2)) + 0.6*math.Exp(-math.Pow((f-1200)/200, 2)) + 0.05
			v += g * math.Sin(2*math.Pi*f*t)
		}
		env := 0.5 + 0.5*math.Sin(2*math.Pi*4*t)
		pcm[i] = int16(6000 * env * v / 3)
	}
	return pcm
}

func writeAll(t testing.TB, u asr.Utterance, pcm []int16) {
	t.Helper()
	for len(pcm) > 0 {
		k := min(320, len(pcm))
		if err := u.Write(pcm[:k]); err != nil {
			t.Fatal(err)
		}
		pcm = pcm[k:]
	}
}

func TestMissingModel(t *testing.T) {
	_, err := New(Config{Model: "/nonexistent/ggml-base.bin"})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/ggml-base.bin") || !strings.Contains(err.Error(), "README") {
		t.Fatalf("got %v, want an error naming the path and the README", err)
	}
}

func TestLoad(t *testing.T) {
	r := newRecognizer(t, Config{States: 2, Threads: 1})
	if st := r.Stats(); st.States != 2 || st.InUse != 0 {
		t.Fatalf("stats %+v", st)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := r.Start(context.Background(), asr.Hints{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
}

func TestUtterance(t *testing.T) {
	r := newRecognizer(t, Config{States: 1, Threads: 2})
	u, err := r.Start(context.Background(), asr.Hints{Phrases: []string{"billing", "technical support", "operator"}})
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, u, speechLike(2*asr.SampleRate))
	res, err := u.Finish()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("result %+v", res)
	if !res.NoMatch && res.Text != "" {
		t.Errorf("the for-tests model heard %q", res.Text) // a real model may; this one must not
	}
	if st := r.Stats(); st.Decodes != 1 || st.QuietSkips != 0 || st.InUse != 0 || st.AudioTime != 2*time.Second {
		t.Errorf("stats %+v", st)
	}
	if err := u.Close(); err != nil {
		t.Error("Close after Finish:", err)
	}
	if _, err := u.Finish(); err == nil {
		t.Error("second Finish succeeded")
	}
}

func TestQuietIsNotDecoded(t *testing.T) {
	r := newRecognizer(t, Config{States: 1, Threads: 1})
	u, err := r.Start(context.Background(), asr.Hints{})
	if err != nil {
		t.Fatal(err)
	}
	hiss := make([]int16, 2*asr.SampleRate)
	for i := range hiss {
		hiss[i] = int16((i*7919)%61 - 30) // about -60 dBFS
	}
	writeAll(t, u, hiss)
	res, err := u.Finish()
	if err != nil || !res.NoMatch || res.Text != "" {
		t.Fatalf("got %+v, %v; want an empty no-match", res, err)
	}
	if st := r.Stats(); st.Decodes != 0 || st.QuietSkips != 1 || st.Partials != 0 {
		t.Fatalf("stats %+v: quiet audio was decoded", st)
	}
}

// waitFor polls an observable condition of the Recognizer.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestQueueBeyondPool(t *testing.T) {
	const calls = 4
	r := newRecognizer(t, Config{States: 1, Threads: 1, PartialInterval: time.Hour})
	// Hold the only state so that every final decode must queue.
	held, err := r.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	audio := speechLike(2 * asr.SampleRate)
	errs := make(chan error, calls)
	var wg sync.WaitGroup
	for range calls {
		wg.Go(func() {
			u, err := r.Start(context.Background(), asr.Hints{Language: "en"})
			if err != nil {
				errs <- err
				return
			}
			writeAll(t, u, audio)
			_, err = u.Finish()
			errs <- err
		})
	}
	waitFor(t, "all calls queued", func() bool { return r.Stats().Queued == calls })

	// A queued wait gives up with its context.
	ctx, cancel := context.WithCancel(context.Background())
	u, err := r.Start(ctx, asr.Hints{})
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, u, audio)
	done := make(chan error, 1)
	go func() { _, err := u.Finish(); done <- err }()
	waitFor(t, "the extra call queued", func() bool { return r.Stats().Queued == calls+1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}

	r.release(held)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error("queued utterance:", err)
		}
	}
	st := r.Stats()
	if st.Decodes != calls || st.Queued != 0 || st.PeakQueued != calls+1 || st.InUse != 0 || st.Failures != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestConcurrentUtterances(t *testing.T) {
	r := newRecognizer(t, Config{States: 2, Threads: 1, PartialInterval: 200 * time.Millisecond})
	audio := speechLike(3 * asr.SampleRate)
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			h := asr.Hints{Phrases: []string{"yes", "no"}}
			if r.multilingual && i%2 == 1 {
				h = asr.Hints{Phrases: []string{"да", "нет"}, Language: "ru"}
			}
			u, err := r.Start(context.Background(), h)
			if err != nil {
				t.Error(err)
				return
			}
			writeAll(t, u, audio)
			u.Partial() // must not block
			if _, err := u.Finish(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	st := r.Stats()
	t.Logf("stats %+v", st)
	if st.Decodes != 6 || st.InUse != 0 || st.Queued != 0 {
		t.Fatalf("stats %+v", st)
	}
	if st.Partials+st.PartialBusy == 0 {
		t.Fatal("no partial decode was tried")
	}
}

func TestPartialAndClose(t *testing.T) {
	r := newRecognizer(t, Config{States: 1, Threads: 1, PartialInterval: 100 * time.Millisecond})
	u, err := r.Start(context.Background(), asr.Hints{})
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, u, speechLike(2*asr.SampleRate))
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	if err := u.Write(make([]int16, 320)); err == nil {
		t.Fatal("Write after Close succeeded")
	}
	if st := r.Stats(); st.InUse != 0 {
		t.Fatalf("a state is still in use after Close: %+v", st)
	}
}

func TestLanguages(t *testing.T) {
	r := newRecognizer(t, Config{States: 1, Threads: 1})
	if _, err := r.Start(context.Background(), asr.Hints{Language: "xx"}); err == nil {
		t.Error("unknown language accepted")
	}
	_, err := r.Start(context.Background(), asr.Hints{Language: "ru"})
	if r.multilingual != (err == nil) {
		t.Errorf("multilingual %v, Russian: %v", r.multilingual, err)
	}
	if _, err := New(Config{Model: r.cfg.Model, Language: "xx"}); err == nil {
		t.Error("unknown default language accepted")
	}
}

// BenchmarkRealTimeFactor decodes WHISPER_BENCH_WAV (16 kHz mono PCM16,
// e.g. the bindings' samples/jfk.wav) or 5 s of synthetic audio, and reports
// decode time over audio time: below 1 is faster than real time. Meaningful
// with a real model only.
func BenchmarkRealTimeFactor(b *testing.B) {
	r := newRecognizer(b, Config{States: 1, PartialInterval: time.Hour})
	audio := speechLike(5 * asr.SampleRate)
	if p := os.Getenv("WHISPER_BENCH_WAV"); p != "" {
		audio = readWAV(b, p)
	}
	var text string
	for b.Loop() {
		u, err := r.Start(context.Background(), asr.Hints{})
		if err != nil {
			b.Fatal(err)
		}
		writeAll(b, u, audio)
		res, err := u.Finish()
		if err != nil {
			b.Fatal(err)
		}
		text = res.Text
	}
	st := r.Stats()
	b.ReportMetric(st.DecodeTime.Seconds()/st.AudioTime.Seconds(), "rtf")
	b.Logf("threads %d, %v of audio: %q", r.cfg.Threads, time.Duration(len(audio))*time.Second/asr.SampleRate, text)
}

// readWAV reads the samples of a canonical 16 kHz mono PCM16 WAV file.
func readWAV(tb testing.TB, path string) []int16 {
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		tb.Fatalf("%s: not a WAV file", path)
	}
	for p := 12; p+8 <= len(data); {
		id, size := string(data[p:p+4]), int(binary.LittleEndian.Uint32(data[p+4:p+8]))
		p += 8
		switch id {
		case "fmt ":
			if binary.LittleEndian.Uint16(data[p:]) != 1 || binary.LittleEndian.Uint16(data[p+2:]) != 1 ||
				binary.LittleEndian.Uint32(data[p+4:]) != asr.SampleRate || binary.LittleEndian.Uint16(data[p+14:]) != 16 {
				tb.Fatalf("%s: want 16 kHz mono PCM16", path)
			}
		case "data":
			size = min(size, len(data)-p)
			pcm := make([]int16, size/2)
			for i := range pcm {
				pcm[i] = int16(binary.LittleEndian.Uint16(data[p+2*i:]))
			}
			return pcm
		}
		p += size + size%2
	}
	tb.Fatalf("%s: no data chunk", path)
	return nil
}
