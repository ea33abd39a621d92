package media

import (
	"encoding/binary"
	"testing"
	"time"
)

// eventPacket is one telephone-event payload as laid out in RFC 4733 §2.3:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     event     |E|R| volume    |          duration             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type eventPacket struct {
	ts      uint32
	marker  bool
	payload [4]byte
}

func event(ts uint32, marker bool, ev byte, end bool, volume byte, dur uint16) eventPacket {
	p := eventPacket{ts: ts, marker: marker}
	p.payload[0] = ev
	p.payload[1] = volume & 0x3F
	if end {
		p.payload[1] |= 0x80
	}
	binary.BigEndian.PutUint16(p.payload[2:], dur)
	return p
}

// keyPress is what a phone sends for one key held 100 ms with 20 ms
// packets: a first packet with the marker bit, packets with growing
// duration, and the final packet repeated three times with the E bit.
func keyPress(ts uint32, ev byte) []eventPacket {
	ps := []eventPacket{event(ts, true, ev, false, 10, 160)}
	for d := uint16(320); d < 800; d += 160 {
		ps = append(ps, event(ts, false, ev, false, 10, d))
	}
	for range 3 {
		ps = append(ps, event(ts, false, ev, true, 10, 800))
	}
	return ps
}

func decodeAll(d *DTMFDecoder, ps []eventPacket) []Digit {
	var out []Digit
	for _, p := range ps {
		if dg, ok := d.Decode(p.ts, p.payload[:]); ok {
			out = append(out, dg)
		}
	}
	return out
}

func TestDTMFOneDigitPerEvent(t *testing.T) {
	var d DTMFDecoder
	var ps []eventPacket
	ts := uint32(123456)
	for _, ev := range []byte{1, 10, 11, 15, 0} {
		ps = append(ps, keyPress(ts, ev)...)
		ts += 1600
	}
	got := decodeAll(&d, ps)
	if len(got) != 5 {
		t.Fatalf("got %d digits %v, want 5", len(got), got)
	}
	keys := ""
	for _, dg := range got {
		keys += string(dg.Key)
	}
	if keys != "1*#D0" {
		t.Fatalf("keys %q, want %q", keys, "1*#D0")
	}
	if got[0].Duration != 20*time.Millisecond {
		t.Fatalf("duration %v, want the first packet's 20ms", got[0].Duration)
	}
}

func TestDTMFSameKeyTwice(t *testing.T) {
	var d DTMFDecoder
	ps := append(keyPress(1000, 5), keyPress(2600, 5)...)
	got := decodeAll(&d, ps)
	if len(got) != 2 || got[0].Key != '5' || got[1].Key != '5' {
		t.Fatalf("got %v, want two '5'", got)
	}
}

func TestDTMFLateEndOfPreviousEvent(t *testing.T) {
	var d DTMFDecoder
	a := keyPress(1000, 1)
	b := keyPress(2600, 2)
	// The last end packet of "1" is reordered after the start of "2".
	ps := append(append(a[:len(a)-1:len(a)-1], b[0]), a[len(a)-1])
	ps = append(ps, b[1:]...)
	if got := decodeAll(&d, ps); len(got) != 2 {
		t.Fatalf("got %v, want 2 digits", got)
	}
}

func TestDTMFStartLost(t *testing.T) {
	var d DTMFDecoder
	ps := keyPress(5000, 9)[3:] // marker packet and two more lost
	if got := decodeAll(&d, ps); len(got) != 1 || got[0].Key != '9' {
		t.Fatalf("got %v, want one '9'", got)
	}
}

func TestDTMFMalformed(t *testing.T) {
	var d DTMFDecoder
	for _, p := range [][]byte{nil, {1}, {1, 2, 3}, {16, 0x80, 0, 160}, {255, 0, 0, 0}} {
		if dg, ok := d.Decode(42, p); ok {
			t.Errorf("Decode(%v) = %v", p, dg)
		}
	}
}
