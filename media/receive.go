package media

import (
	"encoding/binary"
	"net/netip"
	"sync/atomic"
)

// rtpHeader is the part of an RTP header the receiver uses.
type rtpHeader struct {
	marker bool
	pt     uint8
	seq    uint16
	ts     uint32
	ssrc   uint32
}

// parseRTP reads an RTP packet (RFC 3550 §5.1), skipping CSRCs, a header
// extension and padding. It is written here instead of using
// rtp.Packet.Unmarshal because that allocates an error for every malformed
// packet, and anyone can send those.
func parseRTP(b []byte) (h rtpHeader, payload []byte, ok bool) {
	if len(b) < 12 || b[0]>>6 != 2 {
		return h, nil, false
	}
	n := 12 + 4*int(b[0]&0x0F)
	if b[0]&0x10 != 0 {
		if len(b) < n+4 {
			return h, nil, false
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(b[n+2:]))
	}
	end := len(b)
	if b[0]&0x20 != 0 {
		pad := int(b[end-1])
		if pad == 0 {
			return h, nil, false
		}
		end -= pad
	}
	if end < n {
		return h, nil, false
	}
	h.marker = b[1]&0x80 != 0
	h.pt = b[1] & 0x7F
	h.seq = binary.BigEndian.Uint16(b[2:])
	h.ts = binary.BigEndian.Uint32(b[4:])
	h.ssrc = binary.BigEndian.Uint32(b[8:])
	return h, b[n:end], true
}

// receiver is the inbound half of a session: latching, payload-type demux,
// jitter buffer, decoding and re-chunking into frames. It runs on the
// session's read goroutine; everything it shares is atomic or a channel.
type receiver struct {
	// cfg packs audio PT | DTMF PT << 8 | remote generation << 16, so
	// SetRemote can change them while packets arrive, for one atomic load
	// per packet.
	cfg atomic.Uint32

	onLatch func(from netip.AddrPort, gen uint16)
	onAudio func(frame []int16)
	digits  chan Digit

	gen       uint16
	latched   netip.AddrPort
	isLatched bool
	ssrc      uint32
	haveSSRC  bool

	jb      *Jitter
	dtmf    DTMFDecoder
	dec     [MaxPacketSamples]int16
	silence [FrameSamples]int16
	acc     [FrameSamples]int16
	accN    int

	packets, bytes                atomic.Uint64
	wrongSource, wrongPT, invalid atomic.Uint64
	digitsDropped                 atomic.Uint64
}

func packCfg(audio, dtmf uint8, gen uint16) uint32 {
	return uint32(audio) | uint32(dtmf)<<8 | uint32(gen)<<16
}

// handle processes one datagram from the RTP socket.
func (r *receiver) handle(b []byte, from netip.AddrPort) {
	h, payload, ok := parseRTP(b)
	if !ok {
		r.invalid.Add(1)
		return
	}
	cfg := r.cfg.Load()
	audio, dtmf, gen := uint8(cfg), uint8(cfg>>8), uint16(cfg>>16)
	if gen != r.gen {
		// The SDP address changed (re-INVITE): latch afresh.
		r.gen, r.isLatched = gen, false
	}
	isDTMF := dtmf != 0 && h.pt == dtmf
	if h.pt != audio && !isDTMF && h.pt != PayloadCN {
		r.wrongPT.Add(1)
		return
	}
	// Symmetric RTP (RFC 4961): the first valid packet tells where the
	// peer really is, whatever its SDP said; that is what gets through NAT.
	// Later packets from elsewhere are someone else's and are dropped.
	if !r.isLatched {
		r.latched, r.isLatched = from, true
		if r.onLatch != nil {
			r.onLatch(from, gen)
		}
	} else if from != r.latched {
		r.wrongSource.Add(1)
		return
	}
	r.packets.Add(1)
	r.bytes.Add(uint64(len(b)))
	if !r.haveSSRC || h.ssrc != r.ssrc {
		r.ssrc, r.haveSSRC = h.ssrc, true
		r.dtmf.Reset()
	}

	// Every packet of the stream fills its sequence slot, events and
	// comfort noise included, or the jitter buffer would take them as lost.
	switch {
	case h.pt == audio:
		pcm := r.dec[:min(len(payload), MaxPacketSamples)]
		if audio == PayloadPCMA {
			DecodeALaw(pcm, payload)
		} else {
			DecodeULaw(pcm, payload)
		}
		r.jb.Push(h.ssrc, h.seq, pcm)
	case isDTMF:
		if d, ok := r.dtmf.Decode(h.ts, payload); ok {
			select {
			case r.digits <- d:
			default:
				r.digitsDropped.Add(1)
			}
		}
		r.jb.Push(h.ssrc, h.seq, r.silence[:])
	default: // comfort noise: played as silence
		r.jb.Push(h.ssrc, h.seq, r.silence[:])
	}
	for {
		pcm, _, ok := r.jb.Pop()
		if !ok {
			break
		}
		r.chunk(pcm)
	}
}

// chunk re-cuts packets of any ptime into FrameSamples frames.
func (r *receiver) chunk(pcm []int16) {
	for len(pcm) > 0 {
		k := copy(r.acc[r.accN:], pcm)
		r.accN += k
		pcm = pcm[k:]
		if r.accN == FrameSamples {
			r.accN = 0
			if r.onAudio != nil {
				r.onAudio(r.acc[:])
			}
		}
	}
}
