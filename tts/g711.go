package tts

// ulaw and alaw expand G.711 bytes to linear PCM16 (ITU-T G.711 tables 2a
// and 1a). The media package has its own codec for RTP; this copy keeps
// tts free of a dependency on the package that will play its output.
var ulaw, alaw [256]int16

func init() {
	for i := range 256 {
		ulaw[i] = expandULaw(byte(i))
		alaw[i] = expandALaw(byte(i))
	}
}

func expandULaw(u byte) int16 {
	u = ^u
	t := (int(u&0x0F)<<3 + 0x84) << (u & 0x70 >> 4)
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

func expandALaw(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0F) << 4
	switch seg := a & 0x70 >> 4; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t = (t + 0x108) << (seg - 1)
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}
