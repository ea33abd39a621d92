package media

import "math/bits"

// Static RTP payload types of the G.711 codecs (RFC 3551 §6).
const (
	// PayloadPCMU is the static RTP payload type of G.711 µ-law.
	PayloadPCMU uint8 = 0
	// PayloadPCMA is the static RTP payload type of G.711 A-law.
	PayloadPCMA uint8 = 8
	// PayloadCN is the static RTP payload type of comfort noise (RFC 3389);
	// the receiver plays it as silence.
	PayloadCN uint8 = 13
)

// The encoders index a table by the sample's top 14 (µ-law) or 13 (A-law)
// bits: G.711 ignores the rest, so a table lookup is exact and needs no
// branches. The tables are 16 KiB and 4 KiB; the decode tables are the
// 256 reconstruction levels of ITU-T G.711 (as produced by G.191's
// ulaw_expand/alaw_expand).
var (
	ulawEncode [1 << 14]byte
	alawEncode [1 << 12]byte
)

func init() {
	for i := range ulawEncode {
		ulawEncode[i] = ulawCompress(int(int16(uint16(i)<<2) >> 2))
	}
	for i := range alawEncode {
		alawEncode[i] = alawCompress(int(int16(uint16(i)<<4) >> 4))
	}
}

// ulawCompress encodes a 14-bit sample. Negative values are taken in one's
// complement, as ITU-T G.191 does, so that -1 and 0 both land on the
// smallest level instead of -1 landing one step lower.
func ulawCompress(v int) byte {
	mask := 0xFF
	if v < 0 {
		v = ^v
		mask = 0x7F
	}
	v += 33 // the µ-law bias, 0x84 in 16-bit units
	if v > 0x1FFF {
		v = 0x1FFF
	}
	seg := bits.Len(uint(v >> 6))
	return byte((seg<<4 | (v>>(seg+1))&0x0F) ^ mask)
}

// alawCompress encodes a 12-bit magnitude plus sign (the 13-bit linear
// range of A-law); even bits are inverted on the wire (XOR 0x55).
func alawCompress(v int) byte {
	sign := 0x80
	if v < 0 {
		v = ^v
		sign = 0
	}
	seg := bits.Len(uint(v >> 4))
	mant := v
	if seg > 0 {
		mant = (v >> (seg - 1)) & 0x0F
	}
	return byte((seg<<4 | mant | sign) ^ 0x55)
}

// EncodeULaw encodes src as G.711 µ-law into dst, which must be at least as
// long as src.
func EncodeULaw(dst []byte, src []int16) {
	dst = dst[:len(src)]
	for i, s := range src {
		dst[i] = ulawEncode[uint16(s)>>2]
	}
}

// DecodeULaw decodes G.711 µ-law src into dst, which must be at least as
// long as src.
func DecodeULaw(dst []int16, src []byte) {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = ulawDecode[b]
	}
}

// EncodeALaw encodes src as G.711 A-law into dst, which must be at least as
// long as src.
func EncodeALaw(dst []byte, src []int16) {
	dst = dst[:len(src)]
	for i, s := range src {
		dst[i] = alawEncode[uint16(s)>>4]
	}
}

// DecodeALaw decodes G.711 A-law src into dst, which must be at least as
// long as src.
func DecodeALaw(dst []int16, src []byte) {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = alawDecode[b]
	}
}

// silenceByte is what a frame of zeros encodes to, so silence can be
// written without running the encoder.
func silenceByte(pt uint8) byte {
	if pt == PayloadPCMA {
		return 0xD5
	}
	return 0xFF
}

var ulawDecode = [256]int16{
	-32124, -31100, -30076, -29052, -28028, -27004, -25980, -24956,
	-23932, -22908, -21884, -20860, -19836, -18812, -17788, -16764,
	-15996, -15484, -14972, -14460, -13948, -13436, -12924, -12412,
	-11900, -11388, -10876, -10364, -9852, -9340, -8828, -8316,
	-7932, -7676, -7420, -7164, -6908, -6652, -6396, -6140,
	-5884, -5628, -5372, -5116, -4860, -4604, -4348, -4092,
	-3900, -3772, -3644, -3516, -3388, -3260, -3132, -3004,
	-2876, -2748, -2620, -2492, -2364, -2236, -2108, -1980,
	-1884, -1820, -1756, -1692, -1628, -1564, -1500, -1436,
	-1372, -1308, -1244, -1180, -1116, -1052, -988, -924,
	-876, -844, -812, -780, -748, -716, -684, -652,
	-620, -588, -556, -524, -492, -460, -428, -396,
	-372, -356, -340, -324, -308, -292, -276, -260,
	-244, -228, -212, -196, -180, -164, -148, -132,
	-120, -112, -104, -96, -88, -80, -72, -64,
	-56, -48, -40, -32, -24, -16, -8, 0,
	32124, 31100, 30076, 29052, 28028, 27004, 25980, 24956,
	23932, 22908, 21884, 20860, 19836, 18812, 17788, 16764,
	15996, 15484, 14972, 14460, 13948, 13436, 12924, 12412,
	11900, 11388, 10876, 10364, 9852, 9340, 8828, 8316,
	7932, 7676, 7420, 7164, 6908, 6652, 6396, 6140,
	5884, 5628, 5372, 5116, 4860, 4604, 4348, 4092,
	3900, 3772, 3644, 3516, 3388, 3260, 3132, 3004,
	2876, 2748, 2620, 2492, 2364, 2236, 2108, 1980,
	1884, 1820, 1756, 1692, 1628, 1564, 1500, 1436,
	1372, 1308, 1244, 1180, 1116, 1052, 988, 924,
	876, 844, 812, 780, 748, 716, 684, 652,
	620, 588, 556, 524, 492, 460, 428, 396,
	372, 356, 340, 324, 308, 292, 276, 260,
	244, 228, 212, 196, 180, 164, 148, 132,
	120, 112, 104, 96, 88, 80, 72, 64,
	56, 48, 40, 32, 24, 16, 8, 0,
}

var alawDecode = [256]int16{
	-5504, -5248, -6016, -5760, -4480, -4224, -4992, -4736,
	-7552, -7296, -8064, -7808, -6528, -6272, -7040, -6784,
	-2752, -2624, -3008, -2880, -2240, -2112, -2496, -2368,
	-3776, -3648, -4032, -3904, -3264, -3136, -3520, -3392,
	-22016, -20992, -24064, -23040, -17920, -16896, -19968, -18944,
	-30208, -29184, -32256, -31232, -26112, -25088, -28160, -27136,
	-11008, -10496, -12032, -11520, -8960, -8448, -9984, -9472,
	-15104, -14592, -16128, -15616, -13056, -12544, -14080, -13568,
	-344, -328, -376, -360, -280, -264, -312, -296,
	-472, -456, -504, -488, -408, -392, -440, -424,
	-88, -72, -120, -104, -24, -8, -56, -40,
	-216, -200, -248, -232, -152, -136, -184, -168,
	-1376, -1312, -1504, -1440, -1120, -1056, -1248, -1184,
	-1888, -1824, -2016, -1952, -1632, -1568, -1760, -1696,
	-688, -656, -752, -720, -560, -528, -624, -592,
	-944, -912, -1008, -976, -816, -784, -880, -848,
	5504, 5248, 6016, 5760, 4480, 4224, 4992, 4736,
	7552, 7296, 8064, 7808, 6528, 6272, 7040, 6784,
	2752, 2624, 3008, 2880, 2240, 2112, 2496, 2368,
	3776, 3648, 4032, 3904, 3264, 3136, 3520, 3392,
	22016, 20992, 24064, 23040, 17920, 16896, 19968, 18944,
	30208, 29184, 32256, 31232, 26112, 25088, 28160, 27136,
	11008, 10496, 12032, 11520, 8960, 8448, 9984, 9472,
	15104, 14592, 16128, 15616, 13056, 12544, 14080, 13568,
	344, 328, 376, 360, 280, 264, 312, 296,
	472, 456, 504, 488, 408, 392, 440, 424,
	88, 72, 120, 104, 24, 8, 56, 40,
	216, 200, 248, 232, 152, 136, 184, 168,
	1376, 1312, 1504, 1440, 1120, 1056, 1248, 1184,
	1888, 1824, 2016, 1952, 1632, 1568, 1760, 1696,
	688, 656, 752, 720, 560, 528, 624, 592,
	944, 912, 1008, 976, 816, 784, 880, 848,
}
