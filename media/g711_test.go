package media

import (
	"math"
	"testing"
)

// The reference functions below transcribe ITU-T G.191 (STL g711.c:
// ulaw_compress, ulaw_expand, alaw_compress, alaw_expand) literally, so the
// table-driven codec is checked against the standard's own arithmetic and
// not against itself.

func refULawCompress(x int16) byte {
	var absno int
	if x < 0 {
		absno = int(^x)>>2 + 33
	} else {
		absno = int(x)>>2 + 33
	}
	if absno > 0x1FFF {
		absno = 0x1FFF
	}
	i := absno >> 6
	segno := 1
	for i != 0 {
		segno++
		i >>= 1
	}
	high := 0x0008 - segno
	low := 0x000F - (absno>>segno)&0x000F
	out := high<<4 | low
	if x >= 0 {
		out |= 0x0080
	}
	return byte(out)
}

func refULawExpand(b byte) int16 {
	sign := 1
	if b < 0x80 {
		sign = -1
	}
	mantissa := ^int(b)
	exponent := (mantissa >> 4) & 0x0007
	segment := exponent + 1
	mantissa &= 0x0F
	step := 4 << segment
	return int16(sign * (0x0080<<exponent + step*mantissa + step/2 - 4*33))
}

func refALawCompress(x int16) byte {
	var ix int
	if x < 0 {
		ix = int(^x) >> 4
	} else {
		ix = int(x) >> 4
	}
	if ix > 15 {
		iexp := 1
		for ix > 16+15 {
			ix >>= 1
			iexp++
		}
		ix -= 16
		ix += iexp << 4
	}
	if x >= 0 {
		ix |= 0x0080
	}
	return byte(ix ^ 0x0055)
}

func refALawExpand(b byte) int16 {
	ix := int(b^0x55) & 0x7F
	iexp := ix >> 4
	mant := ix & 0x0F
	if iexp > 0 {
		mant += 16
	}
	mant = mant<<4 + 0x0008
	if iexp > 1 {
		mant <<= iexp - 1
	}
	if b > 127 {
		return int16(mant)
	}
	return int16(-mant)
}

func allSamples() []int16 {
	s := make([]int16, 65536)
	for i := range s {
		s[i] = int16(i - 32768)
	}
	return s
}

func TestG711DecodeMatchesReference(t *testing.T) {
	src := make([]byte, 256)
	for i := range src {
		src[i] = byte(i)
	}
	u := make([]int16, 256)
	a := make([]int16, 256)
	DecodeULaw(u, src)
	DecodeALaw(a, src)
	for i := range src {
		if want := refULawExpand(byte(i)); u[i] != want {
			t.Errorf("µ-law decode %#02x = %d, want %d", i, u[i], want)
		}
		if want := refALawExpand(byte(i)); a[i] != want {
			t.Errorf("A-law decode %#02x = %d, want %d", i, a[i], want)
		}
	}
}

func TestG711EncodeMatchesReference(t *testing.T) {
	src := allSamples()
	u := make([]byte, len(src))
	a := make([]byte, len(src))
	EncodeULaw(u, src)
	EncodeALaw(a, src)
	for i, x := range src {
		if want := refULawCompress(x); u[i] != want {
			t.Fatalf("µ-law encode %d = %#02x, want %#02x", x, u[i], want)
		}
		if want := refALawCompress(x); a[i] != want {
			t.Fatalf("A-law encode %d = %#02x, want %#02x", x, a[i], want)
		}
	}
}

func TestG711KnownValues(t *testing.T) {
	cases := []struct {
		law  string
		pcm  int16
		code byte
		back int16
	}{
		{"µ", 0, 0xFF, 0},
		{"µ", -1, 0x7F, 0},
		{"µ", 32767, 0x80, 32124},
		{"µ", -32768, 0x00, -32124},
		{"µ", 1000, 0xCE, 988},
		{"A", 0, 0xD5, 8},
		{"A", -1, 0x55, -8},
		{"A", 32767, 0xAA, 32256},
		{"A", -32768, 0x2A, -32256},
		{"A", 1000, 0xFA, 1008},
	}
	for _, c := range cases {
		var code [1]byte
		var back [1]int16
		if c.law == "µ" {
			EncodeULaw(code[:], []int16{c.pcm})
			DecodeULaw(back[:], code[:])
		} else {
			EncodeALaw(code[:], []int16{c.pcm})
			DecodeALaw(back[:], code[:])
		}
		if code[0] != c.code || back[0] != c.back {
			t.Errorf("%s-law %d -> %#02x -> %d, want %#02x -> %d", c.law, c.pcm, code[0], back[0], c.code, c.back)
		}
	}
	if silenceByte(PayloadPCMU) != 0xFF || silenceByte(PayloadPCMA) != 0xD5 {
		t.Error("silence bytes do not match the encoding of zero")
	}
}

// TestG711RoundTrip checks every 16-bit sample comes back within half the
// step of its segment (plus the bits G.711 drops), which is the codec's
// quantisation error; the clipping ends of µ-law get the extra range.
func TestG711RoundTrip(t *testing.T) {
	src := allSamples()
	enc := make([]byte, len(src))
	dec := make([]int16, len(src))
	for _, law := range []string{"µ", "A"} {
		if law == "µ" {
			EncodeULaw(enc, src)
			DecodeULaw(dec, enc)
		} else {
			EncodeALaw(enc, src)
			DecodeALaw(dec, enc)
		}
		var prev int16 = math.MinInt16
		for i, x := range src {
			y := dec[i]
			if y < prev {
				t.Fatalf("%s-law not monotonic at %d", law, x)
			}
			prev = y
			mag := math.Abs(float64(x))
			var maxErr float64
			if law == "µ" {
				// Segment step in 16-bit units: 8 << seg, bias 132.
				seg := math.Floor(math.Log2((mag+132)/128)) + 0
				seg = math.Max(0, math.Min(seg, 7))
				maxErr = float64(int(8)<<int(seg))/2 + 4
				if mag > 32124 {
					maxErr = mag - 32124 + 4
				}
			} else {
				seg := math.Max(0, math.Floor(math.Log2(mag/256))+1)
				seg = math.Min(seg, 7)
				step := 32.0
				if seg > 1 {
					step = float64(int(16) << int(seg))
				}
				maxErr = step/2 + 16
				if mag > 32256 {
					maxErr = mag - 32256 + 16
				}
			}
			if d := math.Abs(float64(y) - float64(x)); d > maxErr {
				t.Fatalf("%s-law %d -> %d: error %.0f > %.0f", law, x, y, d, maxErr)
			}
		}
	}
}

func TestG711Allocs(t *testing.T) {
	pcm := make([]int16, FrameSamples)
	enc := make([]byte, FrameSamples)
	if n := testing.AllocsPerRun(100, func() {
		EncodeULaw(enc, pcm)
		DecodeULaw(pcm, enc)
		EncodeALaw(enc, pcm)
		DecodeALaw(pcm, enc)
	}); n != 0 {
		t.Fatalf("G.711 allocates %v per frame", n)
	}
}

func BenchmarkEncodeULaw(b *testing.B) {
	pcm := make([]int16, FrameSamples)
	for i := range pcm {
		pcm[i] = int16(i * 200)
	}
	enc := make([]byte, FrameSamples)
	b.ReportAllocs()
	b.SetBytes(FrameSamples)
	for b.Loop() {
		EncodeULaw(enc, pcm)
	}
}

func BenchmarkDecodeULaw(b *testing.B) {
	enc := make([]byte, FrameSamples)
	pcm := make([]int16, FrameSamples)
	b.ReportAllocs()
	b.SetBytes(FrameSamples)
	for b.Loop() {
		DecodeULaw(pcm, enc)
	}
}
