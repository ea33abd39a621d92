package media

import (
	"encoding/binary"
	"time"
)

// Digit is one key press received as an RFC 4733 telephone-event.
type Digit struct {
	Key byte // '0'-'9', '*', '#', 'A'-'D'
	// Duration is the event's length as far as known when the digit was
	// reported, which is its first packet (see DTMFDecoder); often 0.
	Duration time.Duration
}

// dtmfKeys maps RFC 4733 §3.2 event codes 0-15 to keys.
const dtmfKeys = "0123456789*#ABCD"

// DTMFDecoder turns RFC 4733 telephone-event packets into one Digit per
// event. An event is identified by its RTP timestamp (§2.5.1.2: all packets
// of an event carry its start time), so the continuation packets and the
// three retransmitted end packets are recognised as the same event, and the
// same key pressed twice is two events. A digit is reported on the first
// packet seen of its event rather than at its end: a caller interrupting a
// prompt hears it stop while still pressing the key, and a digit whose end
// packets are all lost is still reported.
type DTMFDecoder struct {
	// recent holds the last few event timestamps so that a retransmitted
	// end packet of the previous event arriving late is not a new event.
	recent [4]uint32
	n      int // how many of recent are valid
	pos    int
}

// Decode reads one telephone-event payload with the packet's RTP
// timestamp. It returns the digit and true when this packet starts an event
// not seen before. Malformed payloads (shorter than 4 bytes) and events that
// are not keys (flash, tones) return false.
func (d *DTMFDecoder) Decode(ts uint32, payload []byte) (Digit, bool) {
	// RFC 4733 §2.3: event (8) | E R volume (8) | duration (16).
	if len(payload) < 4 || payload[0] >= byte(len(dtmfKeys)) {
		return Digit{}, false
	}
	for i := range d.n {
		if d.recent[i] == ts {
			return Digit{}, false
		}
	}
	d.recent[d.pos] = ts
	d.pos = (d.pos + 1) % len(d.recent)
	d.n = min(d.n+1, len(d.recent))
	dur := binary.BigEndian.Uint16(payload[2:4])
	return Digit{
		Key:      dtmfKeys[payload[0]],
		Duration: time.Duration(dur) * time.Second / SampleRate,
	}, true
}

// Reset forgets past events, for a new stream (SSRC change) where
// timestamps start over.
func (d *DTMFDecoder) Reset() { *d = DTMFDecoder{} }
