package tts

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/internal/dsp"
)

// The fixtures are 440 Hz sines at half of full scale (−9.03 dBFS); see
// testdata/audio/README.
var fixtures = []struct {
	name string
	dur  time.Duration
}{
	{"tone440_44k1_stereo_s16.wav", 250 * time.Millisecond},
	{"tone440_22k05_u8.wav", 500 * time.Millisecond},
	{"tone440_48k_s24.wav", 250 * time.Millisecond},
	{"tone440_16k_f32.wav", 500 * time.Millisecond},
	{"tone440_8k_f64.wav", 500 * time.Millisecond},
	{"tone440_12k_stereo_s32.wav", 250 * time.Millisecond},
	{"tone440_8k_ulaw.wav", 500 * time.Millisecond},
	{"tone440_8k_alaw.wav", 500 * time.Millisecond},
	{"tone440_11k025_3ch_s16.wav", 500 * time.Millisecond},
	{"tone440_44k1.mp3", 500 * time.Millisecond},
}

func TestLoadFileFixtures(t *testing.T) {
	want := dsp.DBFS(dsp.Sine(Rate, 440, time.Second, 0.5))
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			pcm, err := LoadFile(filepath.Join("..", "testdata", "audio", f.name))
			if err != nil {
				t.Fatal(err)
			}
			dur := time.Duration(len(pcm)) * time.Second / Rate
			if d := dur - f.dur; d < -20*time.Millisecond || d > 20*time.Millisecond {
				t.Errorf("duration %v, want %v ± one 20 ms frame", dur, f.dur)
			}
			if got := dsp.DominantFrequency(pcm, Rate, 50, 3900); math.Abs(got-440) > 5 {
				t.Errorf("dominant frequency %.1f Hz, want 440 ± 5", got)
			}
			// The ends, where the filter meets the silence outside the
			// file, are left out of the level.
			mid := pcm[len(pcm)/10 : len(pcm)-len(pcm)/10]
			if got := dsp.DBFS(mid); math.Abs(got-want) > 0.5 {
				t.Errorf("level %.2f dBFS, want %.2f", got, want)
			}
			if testing.Verbose() {
				t.Logf("%v, %.2f Hz, %.2f dBFS", dur, dsp.DominantFrequency(pcm, Rate, 50, 3900), dsp.DBFS(mid))
			}
		})
	}
}

func TestLoadFileRawG711(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join("..", "testdata", "audio", "tone440_8k_ulaw.wav"))
	if err != nil {
		t.Fatal(err)
	}
	// The same µ-law bytes without the header, as Asterisk keeps them.
	raw := src[bytes.Index(src, []byte("data"))+8:]
	path := filepath.Join(dir, "tone.ul")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	pcm, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(pcm) != 4000 {
		t.Errorf("%d samples, want 4000", len(pcm))
	}
	if got := dsp.DominantFrequency(pcm, Rate, 50, 3900); math.Abs(got-440) > 5 {
		t.Errorf("dominant frequency %.1f Hz, want 440", got)
	}
}

// wav builds a WAV file from chunks.
func wav(chunks ...[]byte) []byte {
	var body []byte
	for _, c := range chunks {
		body = append(body, c...)
	}
	h := []byte("RIFF\x00\x00\x00\x00WAVE")
	binary.LittleEndian.PutUint32(h[4:], uint32(4+len(body)))
	return append(h, body...)
}

func chunk(id string, body []byte) []byte {
	c := []byte(id + "\x00\x00\x00\x00")
	binary.LittleEndian.PutUint32(c[4:], uint32(len(body)))
	c = append(c, body...)
	if len(body)%2 == 1 {
		c = append(c, 0)
	}
	return c
}

func fmtChunk(tag, channels uint16, rate uint32, bits uint16) []byte {
	b := make([]byte, 16)
	align := channels * ((bits + 7) / 8)
	binary.LittleEndian.PutUint16(b[0:], tag)
	binary.LittleEndian.PutUint16(b[2:], channels)
	binary.LittleEndian.PutUint32(b[4:], rate)
	binary.LittleEndian.PutUint32(b[8:], rate*uint32(align))
	binary.LittleEndian.PutUint16(b[12:], align)
	binary.LittleEndian.PutUint16(b[14:], bits)
	return chunk("fmt ", b)
}

func s16(v ...int16) []byte {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(x))
	}
	return b
}

func TestDecodeWAVChunkLayout(t *testing.T) {
	// fmt after data, an odd-sized LIST chunk before, stereo averaged.
	f := wav(
		chunk("LIST", []byte("INFOISFT\x03\x00\x00\x00ab\x00")),
		chunk("data", s16(100, 300, -2, -4, 32767, 32767)),
		chunk("fact", []byte{3, 0, 0, 0}),
		fmtChunk(wavePCM, 2, 16000, 16),
	)
	pcm, rate, err := DecodeWAV(bytes.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	if rate != 16000 || len(pcm) != 3 || pcm[0] != 200 || pcm[1] != -3 || pcm[2] != 32767 {
		t.Fatalf("got %v at %d Hz, want [200 -3 32767] at 16000", pcm, rate)
	}
}

func TestDecodeWAVStreamed(t *testing.T) {
	// espeak-ng --stdout cannot seek back to write the sizes.
	f := wav(fmtChunk(wavePCM, 1, 22050, 16), chunk("data", s16(1, 2, 3)))
	binary.LittleEndian.PutUint32(f[4:], 0x7FFFF024)
	binary.LittleEndian.PutUint32(f[len(f)-10:], 0x7FFFF000)
	pcm, _, err := DecodeWAV(bytes.NewReader(f))
	if err != nil || len(pcm) != 3 {
		t.Fatalf("got %v, %v; want 3 samples", pcm, err)
	}
}

func TestDecodeWAVErrors(t *testing.T) {
	good := wav(fmtChunk(wavePCM, 1, 8000, 16), chunk("data", s16(1, 2, 3, 4)))
	for _, c := range []struct {
		name, want string
		file       []byte
	}{
		{"empty", "not a RIFF/WAVE", nil},
		{"garbage", "not a RIFF/WAVE", []byte("this is not audio at all, just text")},
		{"truncated data", "truncated", good[:len(good)-3]},
		{"truncated fmt", "truncated", good[:20]},
		{"no data", "no data chunk", wav(fmtChunk(wavePCM, 1, 8000, 16))},
		{"no fmt", "no fmt chunk", wav(chunk("data", s16(1)))},
		{"mp3 in wav", "unsupported WAV format 0x0055 (MP3 in WAV)", wav(fmtChunk(0x55, 1, 8000, 0), chunk("data", []byte{1, 2}))},
		{"adpcm", "unsupported WAV format 0x0011 (IMA ADPCM)", wav(fmtChunk(0x11, 1, 8000, 4), chunk("data", []byte{1, 2}))},
		{"zero channels", "0 channels", wav(fmtChunk(wavePCM, 0, 8000, 16), chunk("data", s16(1)))},
		{"zero rate", "sample rate of 0", wav(fmtChunk(wavePCM, 1, 0, 16), chunk("data", s16(1)))},
		{"float16", "unsupported WAV format 0x0003 with 16-bit", wav(fmtChunk(waveFloat, 1, 8000, 16), chunk("data", s16(1)))},
	} {
		_, _, err := DecodeWAV(bytes.NewReader(c.file))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "tts: ") {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
}

func TestLoadFileErrorsNamePath(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string][]byte{
		"x.wav":   wav(fmtChunk(0x55, 1, 8000, 0), chunk("data", []byte{1, 2})),
		"cut.wav": wav(fmtChunk(wavePCM, 1, 8000, 16), chunk("data", s16(1, 2, 3)))[:40],
		"bad.mp3": []byte("not an mp3 at all, though the name says so"),
		"x.txt":   []byte("hello"),
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadFile(path)
		if err == nil || !strings.HasPrefix(err.Error(), "tts: "+path+": ") {
			t.Errorf("%s: err = %v, want it to start with tts: %s:", name, err, path)
		}
	}
	want := "tts: " + filepath.Join(dir, "x.wav") + ": unsupported WAV format 0x0055 (MP3 in WAV)"
	if _, err := LoadFile(filepath.Join(dir, "x.wav")); err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.wav")); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing file: err = %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func FuzzDecodeWAV(f *testing.F) {
	entries, _ := os.ReadDir(filepath.Join("..", "testdata", "audio"))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".wav") {
			b, err := os.ReadFile(filepath.Join("..", "testdata", "audio", e.Name()))
			if err == nil {
				f.Add(b[:min(len(b), 512)])
			}
		}
	}
	f.Add(wav(fmtChunk(wavePCM, 2, 8000, 24), chunk("data", []byte{1, 2, 3, 4, 5, 6, 7})))
	f.Fuzz(func(t *testing.T, b []byte) {
		pcm, rate, err := DecodeWAV(bytes.NewReader(b))
		if err == nil && (rate <= 0 || len(pcm) > len(b)) {
			t.Fatalf("rate %d, %d samples from %d bytes", rate, len(pcm), len(b))
		}
	})
}

func TestDecodeMP3Garbage(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("garbage"), {0xFF, 0xFB, 0x90, 0x00, 1, 2, 3}} {
		if _, _, err := DecodeMP3(bytes.NewReader(b)); err == nil {
			t.Errorf("%q decoded without error", b)
		}
	}
}
