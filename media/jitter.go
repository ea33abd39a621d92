package media

import "sync/atomic"

const (
	// DefaultJitterDepth is how many packets may arrive after a missing one
	// before it is declared lost: 3 frames (60 ms) of reordering tolerated.
	DefaultJitterDepth = 3

	// MaxPacketSamples is the longest packet the jitter buffer keeps whole
	// (60 ms); longer packets are truncated.
	MaxPacketSamples = 480

	jitterSlots = 16 // power of two; bounds depth and the reorder window

	// resyncGap is the sequence distance, either way, beyond which a packet
	// is taken as a restarted stream rather than very late or very early.
	resyncGap = 100
)

// JitterStats counts what the jitter buffer did with the packets it got.
type JitterStats struct {
	Lost       uint64 // slots played out as concealment
	Late       uint64 // arrived after their slot was played out (or concealed)
	Duplicates uint64 // same sequence number seen twice
	Resyncs    uint64 // SSRC changes and sequence jumps that restarted the buffer
}

// Jitter puts RTP packets back in sequence order. It has no timers: a packet
// is released as soon as it is the next expected one, and a missing one is
// given up for lost once more than depth later packets are waiting behind
// it. So an in-order stream has no added delay and a lost packet costs
// depth packet times.
//
// Jitter is used by one goroutine; only Stats may be called concurrently.
type Jitter struct {
	depth   int
	started bool
	ssrc    uint32
	next    uint16 // sequence number to play out next
	high    uint16 // highest sequence number buffered or played
	// played has bit i set when next-1-i was played from a real packet, so
	// a packet behind next is told apart as duplicate or late.
	played uint64

	slots [jitterSlots]jitterSlot
	hot   jitterSlot // the next packet to play, when it came in order
	cand  jitterSlot // first packet after a big sequence jump

	prev    [MaxPacketSamples]int16 // last real packet, for concealment
	prevLen int
	lostRun int
	conceal [MaxPacketSamples]int16
	lost    atomic.Uint64
	late    atomic.Uint64
	dups    atomic.Uint64
	resyncs atomic.Uint64
}

type jitterSlot struct {
	full bool
	seq  uint16
	n    int
	pcm  [MaxPacketSamples]int16
}

// NewJitter returns a jitter buffer that declares a packet lost when more
// than depth packets are waiting behind it; depth <= 0 means
// DefaultJitterDepth, and depth is capped by the buffer's 16 slots.
func NewJitter(depth int) *Jitter {
	if depth <= 0 {
		depth = DefaultJitterDepth
	}
	depth = min(depth, jitterSlots-2)
	return &Jitter{depth: depth}
}

// Push stores one packet's PCM (copied; pcm may be reused at once). A packet
// from a new SSRC restarts the buffer at that packet; so do two consecutive
// packets whose sequence numbers jump more than 100 either way. What was
// waiting is dropped then, since it belongs to a stream that no longer plays.
func (j *Jitter) Push(ssrc uint32, seq uint16, pcm []int16) {
	if !j.started || ssrc != j.ssrc {
		j.reset(ssrc, seq, false)
	}
	d := int16(seq - j.next)
	switch {
	case d < -resyncGap || d > resyncGap:
		// A lone stray packet must not restart the stream, so a jump is
		// only believed when the packet after it follows on (RFC 3550
		// A.1 does the same).
		if !j.cand.full || seq != j.cand.seq+1 {
			if j.cand.full {
				j.late.Add(1)
			}
			j.cand.full, j.cand.seq = true, seq
			j.cand.n = copy(j.cand.pcm[:], pcm)
			return
		}
		first := j.cand.seq
		j.slots[first&(jitterSlots-1)] = j.cand
		j.cand.full = false
		j.reset(ssrc, first, true)
		d = 1
	case d < 0:
		j.dropCandidate()
		if age := -int(d) - 1; age < 64 && j.played&(1<<age) != 0 {
			j.dups.Add(1)
		} else {
			j.late.Add(1)
		}
		return
	default:
		j.dropCandidate()
	}
	if d >= jitterSlots {
		// Too far ahead to keep: play out (as loss) what it pushes past,
		// keeping the waiting packets that still fit.
		j.skipTo(seq - jitterSlots + 1)
	}
	s := &j.slots[seq&(jitterSlots-1)]
	if s.full && s.seq == seq || j.hot.full && j.hot.seq == seq {
		j.dups.Add(1)
		return
	}
	if seq == j.next {
		// The packet that plays next, as nearly every packet is, goes
		// to the one slot that is always in cache: with hundreds of
		// calls, a slot of the ring not written for 16 packet times
		// has left it, and writing it cost more than the rest of Push.
		s = &j.hot
	}
	s.full, s.seq = true, seq
	s.n = copy(s.pcm[:], pcm)
	if int16(seq-j.high) > 0 {
		j.high = seq
	}
}

// skipTo declares everything before seq lost at once, without producing
// concealment: after such a gap the last packet is too old to repeat.
func (j *Jitter) skipTo(seq uint16) {
	for j.next != seq {
		s := &j.slots[j.next&(jitterSlots-1)]
		if s.full && s.seq == j.next {
			s.full = false
		}
		if j.hot.full && j.hot.seq == j.next {
			j.hot.full = false
		}
		j.lost.Add(1)
		j.advance(false)
	}
	j.lostRun = 2
}

func (j *Jitter) dropCandidate() {
	if j.cand.full {
		j.cand.full = false
		j.late.Add(1)
	}
}

// reset restarts playout at seq; keepSlot keeps the packet already stored
// for seq.
func (j *Jitter) reset(ssrc uint32, seq uint16, keepSlot bool) {
	if j.started {
		j.resyncs.Add(1)
	}
	for i := range j.slots {
		j.slots[i].full = keepSlot && j.slots[i].full && j.slots[i].seq == seq
	}
	j.hot.full = false
	j.cand.full = false
	j.started, j.ssrc = true, ssrc
	j.next, j.high = seq, seq
	j.played = 0
}

func (j *Jitter) advance(real bool) {
	j.played <<= 1
	if real {
		j.played |= 1
	}
	j.next++
}

// Pop returns the next packet's PCM in playout order, or a concealment frame
// standing in for a lost one (lost is true), or ok false when the next packet
// has not arrived and is not yet given up. Concealment repeats the last
// packet once at half level, then plays silence: repeating longer sounds
// worse than a gap. The returned slice is valid until the next Push or Pop.
func (j *Jitter) Pop() (pcm []int16, lost, ok bool) {
	if !j.started {
		return nil, false, false
	}
	s := &j.slots[j.next&(jitterSlots-1)]
	if j.hot.full && j.hot.seq == j.next {
		s = &j.hot
	}
	if s.full && s.seq == j.next {
		s.full = false
		j.advance(true)
		j.prevLen = copy(j.prev[:], s.pcm[:s.n])
		j.lostRun = 0
		return s.pcm[:s.n], false, true
	}
	if int16(j.high-j.next) <= int16(j.depth) {
		return nil, false, false
	}
	j.lost.Add(1)
	j.advance(false)
	n := j.prevLen
	if n == 0 {
		n = FrameSamples
	}
	out := j.conceal[:n]
	if j.lostRun == 0 {
		for i, v := range j.prev[:n] {
			out[i] = v / 2
		}
	} else {
		clear(out)
	}
	j.lostRun++
	return out, true, true
}

// Stats returns the counters; safe to call from any goroutine.
func (j *Jitter) Stats() JitterStats {
	return JitterStats{
		Lost:       j.lost.Load(),
		Late:       j.late.Load(),
		Duplicates: j.dups.Load(),
		Resyncs:    j.resyncs.Load(),
	}
}
