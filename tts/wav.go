package tts

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/switchboard-voice/switchboard/media"
)

// WAVE format tags (RFC 2361 appendix A).
const (
	wavePCM        = 0x0001
	waveFloat      = 0x0003
	waveALaw       = 0x0006
	waveULaw       = 0x0007
	waveExtensible = 0xFFFE
)

// waveNames names the compressed formats people most often find in a .wav
// by accident, so the error says what the file really is.
var waveNames = map[uint16]string{
	0x0002: "Microsoft ADPCM",
	0x0011: "IMA ADPCM",
	0x0031: "GSM 6.10",
	0x0040: "G.721 ADPCM",
	0x0050: "MPEG in WAV",
	0x0055: "MP3 in WAV",
	0x0064: "G.726 ADPCM",
	0x0161: "WMA in WAV",
	0x2000: "AC-3 in WAV",
}

// streamedSize is the smallest RIFF or data size taken to mean "unknown,
// read to the end" rather than a promise of that many bytes: programs that
// write WAV to a pipe (espeak-ng --stdout among them) cannot seek back to
// fill in the sizes, and put 0x7FFFF000, 0xFFFFFFFF or the like there.
const streamedSize = 0x7FFF0000

var errTruncated = errors.New("truncated WAV file")

// DecodeWAV reads a RIFF/WAVE file and returns its audio mixed down to mono
// PCM16 at the file's own sample rate. It takes integer PCM of 8 (unsigned),
// 16, 24 and 32 bits, IEEE float of 32 and 64 bits, G.711 µ-law and A-law,
// also when wrapped in WAVE_FORMAT_EXTENSIBLE, with any number of channels,
// which are averaged. Chunks other than fmt and data are skipped wherever
// they are. A data chunk whose size was left as a placeholder by a program
// writing to a pipe runs to the end of the input; a data chunk cut short
// otherwise is an error, as is any other format.
func DecodeWAV(r io.Reader) (pcm []int16, rate int, err error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, 0, fmt.Errorf("tts: read WAV: %w", err)
	}
	pcm, rate, err = decodeWAV(b)
	if err != nil {
		return nil, 0, fmt.Errorf("tts: %w", err)
	}
	return pcm, rate, nil
}

type waveFormat struct {
	tag        uint16
	channels   int
	rate       int
	blockAlign int
	bits       int
}

// decodeWAV does DecodeWAV's work on the file's bytes; its errors carry no
// prefix so that callers can name the file first.
func decodeWAV(b []byte) ([]int16, int, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, errors.New("not a RIFF/WAVE file")
	}
	var (
		fmtc *waveFormat
		data []byte
	)
	for p := 12; p+8 <= len(b); {
		id := string(b[p : p+4])
		size := int64(binary.LittleEndian.Uint32(b[p+4:]))
		body := b[p+8:]
		switch {
		case size <= int64(len(body)):
			body = body[:size]
		case id == "data" && size >= streamedSize:
			// Runs to the end of the input; see streamedSize.
		default:
			return nil, 0, fmt.Errorf("%w: %q chunk needs %d bytes, %d left", errTruncated, id, size, len(body))
		}
		switch id {
		case "fmt ":
			f, err := parseFmt(body)
			if err != nil {
				return nil, 0, err
			}
			fmtc = f
		case "data":
			if data == nil {
				data = body
			}
		}
		// Chunks are padded to an even length.
		p += 8 + len(body) + len(body)&1
	}
	if fmtc == nil {
		return nil, 0, errors.New("WAV file has no fmt chunk")
	}
	if data == nil {
		return nil, 0, errors.New("WAV file has no data chunk")
	}
	pcm, err := fmtc.decode(data)
	if err != nil {
		return nil, 0, err
	}
	return pcm, fmtc.rate, nil
}

func parseFmt(b []byte) (*waveFormat, error) {
	if len(b) < 16 {
		return nil, fmt.Errorf("%w: fmt chunk of %d bytes", errTruncated, len(b))
	}
	le := binary.LittleEndian
	f := &waveFormat{
		tag:        le.Uint16(b[0:]),
		channels:   int(le.Uint16(b[2:])),
		rate:       int(le.Uint32(b[4:])),
		blockAlign: int(le.Uint16(b[12:])),
		bits:       int(le.Uint16(b[14:])),
	}
	if f.tag == waveExtensible {
		// cbSize, wValidBitsPerSample, dwChannelMask, then the GUID
		// whose first two bytes are the real format tag.
		if len(b) < 40 {
			return nil, fmt.Errorf("%w: WAVE_FORMAT_EXTENSIBLE fmt chunk of %d bytes", errTruncated, len(b))
		}
		f.tag = le.Uint16(b[24:])
		if !bytes.Equal(b[26:40], extensibleGUIDTail) {
			return nil, fmt.Errorf("unsupported WAV format: WAVE_FORMAT_EXTENSIBLE subformat %x", b[24:40])
		}
	}
	if f.channels == 0 {
		return nil, errors.New("WAV file has 0 channels")
	}
	if f.rate == 0 {
		return nil, errors.New("WAV file has a sample rate of 0")
	}
	// The container size decides the layout; bits may be fewer (12-bit
	// audio in 16-bit words), and a few writers leave blockAlign wrong.
	size := (f.bits + 7) / 8
	if f.blockAlign != f.channels*size {
		if f.blockAlign%f.channels != 0 || f.blockAlign == 0 {
			return nil, fmt.Errorf("WAV file has block align %d for %d channels of %d bits", f.blockAlign, f.channels, f.bits)
		}
		size = f.blockAlign / f.channels
	}
	f.bits, f.blockAlign = size*8, size*f.channels
	switch {
	case f.tag == wavePCM && (size >= 1 && size <= 4):
	case f.tag == waveFloat && (size == 4 || size == 8):
	case (f.tag == waveULaw || f.tag == waveALaw) && size == 1:
	case f.tag == wavePCM || f.tag == waveFloat || f.tag == waveULaw || f.tag == waveALaw:
		return nil, fmt.Errorf("unsupported WAV format 0x%04X with %d-bit samples", f.tag, f.bits)
	default:
		name := waveNames[f.tag]
		if name == "" {
			name = "compressed"
		}
		return nil, fmt.Errorf("unsupported WAV format 0x%04X (%s)", f.tag, name)
	}
	return f, nil
}

// extensibleGUIDTail is the part of KSDATAFORMAT_SUBTYPE_PCM and _IEEE_FLOAT
// after the format tag.
var extensibleGUIDTail = []byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

// decode mixes data down to mono PCM16. A trailing partial frame, which
// some writers leave, is dropped.
func (f *waveFormat) decode(data []byte) ([]int16, error) {
	size := f.bits / 8
	frames := len(data) / f.blockAlign
	sample := f.sampleFunc()
	pcm := make([]int16, frames)
	for i := range pcm {
		frame := data[i*f.blockAlign : (i+1)*f.blockAlign]
		var sum float64
		for c := range f.channels {
			sum += sample(frame[c*size : (c+1)*size])
		}
		pcm[i] = toPCM16(sum / float64(f.channels))
	}
	return pcm, nil
}

// sampleFunc returns the conversion of one sample to a fraction of full
// scale in [-1, 1).
func (f *waveFormat) sampleFunc() func([]byte) float64 {
	le := binary.LittleEndian
	switch f.tag {
	case waveULaw:
		return func(b []byte) float64 { var v [1]int16; media.DecodeULaw(v[:], b[:1]); return float64(v[0]) / 32768 }
	case waveALaw:
		return func(b []byte) float64 { var v [1]int16; media.DecodeALaw(v[:], b[:1]); return float64(v[0]) / 32768 }
	case waveFloat:
		if f.bits == 32 {
			return func(b []byte) float64 { return float64(math.Float32frombits(le.Uint32(b))) }
		}
		return func(b []byte) float64 { return math.Float64frombits(le.Uint64(b)) }
	}
	switch f.bits {
	case 8: // the one unsigned size
		return func(b []byte) float64 { return (float64(b[0]) - 128) / 128 }
	case 16:
		return func(b []byte) float64 { return float64(int16(le.Uint16(b))) / (1 << 15) }
	case 24:
		return func(b []byte) float64 {
			return float64(int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24)) / (1 << 31)
		}
	default:
		return func(b []byte) float64 { return float64(int32(le.Uint32(b))) / (1 << 31) }
	}
}

func toPCM16(v float64) int16 {
	v *= 32768
	switch {
	case math.IsNaN(v):
		return 0
	case v >= 32767:
		return 32767
	case v <= -32768:
		return -32768
	default:
		return int16(math.Round(v))
	}
}
