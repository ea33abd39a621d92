package tts

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/hajimehoshi/go-mp3"
)

// DecodeMP3 decodes an MP3 file and returns its audio mixed down to mono
// PCM16 at the file's sample rate. When the encoder left a LAME/Xing tag
// (LAME, ffmpeg and most others do) the encoder's delay and padding are cut
// off, so the audio starts and ends where the original did instead of some
// 50 ms late.
func DecodeMP3(r io.Reader) (pcm []int16, rate int, err error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, 0, fmt.Errorf("tts: read MP3: %w", err)
	}
	pcm, rate, err = decodeMP3(b)
	if err != nil {
		return nil, 0, fmt.Errorf("tts: %w", err)
	}
	return pcm, rate, nil
}

func decodeMP3(b []byte) (pcm []int16, rate int, err error) {
	// go-mp3 has panicked on corrupt input in the past; a prompt file
	// that fails to decode must not take down every call in progress.
	defer func() {
		if p := recover(); p != nil {
			pcm, rate, err = nil, 0, fmt.Errorf("corrupt MP3: %v", p)
		}
	}()
	d, err := mp3.NewDecoder(bytes.NewReader(b))
	if err != nil {
		return nil, 0, fmt.Errorf("decode MP3: %w", err)
	}
	stereo, err := io.ReadAll(d)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, 0, fmt.Errorf("decode MP3: %w", err)
	}
	// Always 16-bit little-endian stereo, even for mono files.
	pcm = make([]int16, len(stereo)/4)
	for i := range pcm {
		l := int16(binary.LittleEndian.Uint16(stereo[4*i:]))
		r := int16(binary.LittleEndian.Uint16(stereo[4*i+2:]))
		pcm[i] = int16((int32(l) + int32(r)) / 2)
	}
	if g, ok := readGapless(b); ok {
		start := min(g.skip, len(pcm))
		end := max(start, min(len(pcm), g.end(len(pcm))))
		pcm = pcm[start:end]
	}
	return pcm, d.SampleRate(), nil
}

// decoderDelay is the delay of the MP3 synthesis filterbank every decoder
// adds, in samples (the value LAME and ffmpeg use for gapless playback).
const decoderDelay = 529

// gapless is what a LAME tag says about the samples around the music.
type gapless struct {
	skip    int // samples before the music: the tag frame, encoder and decoder delay
	padding int // samples the encoder added after it
}

// end is where the music stops in a decoding of n samples.
func (g gapless) end(n int) int { return n - g.padding + decoderDelay }

// readGapless looks for a Xing/Info frame with a LAME extension as the
// first frame of b. The tag frame decodes as a frame of silence, which is
// why it counts in skip.
func readGapless(b []byte) (gapless, bool) {
	b = skipID3v2(b)
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return gapless{}, false
	}
	mpeg1 := b[1]&0x18 == 0x18
	mono := b[3]&0xC0 == 0xC0
	var side, perFrame int
	switch {
	case mpeg1 && mono:
		side, perFrame = 17, 1152
	case mpeg1:
		side, perFrame = 32, 1152
	case mono:
		side, perFrame = 9, 576
	default:
		side, perFrame = 17, 576
	}
	x := 4 + side
	if len(b) < x+8 {
		return gapless{}, false
	}
	if id := string(b[x : x+4]); id != "Xing" && id != "Info" {
		return gapless{}, false
	}
	flags := binary.BigEndian.Uint32(b[x+4:])
	p := x + 8
	for _, f := range []struct {
		bit  uint32
		size int
	}{{1, 4}, {2, 4}, {4, 100}, {8, 4}} { // frames, bytes, TOC, quality
		if flags&f.bit != 0 {
			p += f.size
		}
	}
	// The LAME extension: 9 bytes of version, then 12 bytes of other
	// fields, then 12 bits of encoder delay and 12 of padding.
	if len(b) < p+24 || string(b[p:p+4]) != "LAME" && string(b[p:p+4]) != "Lavc" && string(b[p:p+4]) != "Lavf" {
		return gapless{}, false
	}
	d := b[p+21:]
	delay := int(d[0])<<4 | int(d[1])>>4
	padding := int(d[1]&0x0F)<<8 | int(d[2])
	return gapless{skip: perFrame + delay + decoderDelay, padding: padding}, true
}

func skipID3v2(b []byte) []byte {
	if len(b) < 10 || string(b[:3]) != "ID3" {
		return b
	}
	// A syncsafe size: seven bits per byte.
	n := int(b[6]&0x7F)<<21 | int(b[7]&0x7F)<<14 | int(b[8]&0x7F)<<7 | int(b[9]&0x7F)
	n += 10
	if b[5]&0x10 != 0 { // footer present
		n += 10
	}
	if n > len(b) {
		return nil
	}
	return b[n:]
}
