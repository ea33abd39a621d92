package sipcall

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/rtp"

	"github.com/switchboard-voice/switchboard/internal/replay"
	"github.com/switchboard-voice/switchboard/media"
)

// frameSource is the caller's side, one frame at a time
// (*replay.Caller).
type frameSource interface {
	Frame(pcm []int16) replay.CallerFrame
}

// dtmfKeys maps keys to RFC 4733 §3.2 event codes.
const dtmfKeys = "0123456789*#ABCD"

// Tone lengths of a key press: up to 8 packets (160 ms, as dtmf2pcap.sh
// and most phones), then the end packet 3 times (RFC 4733 §2.5.1.4).
const (
	maxToneFrames = 8
	endPackets    = 3
	eventVolume   = 10 // -dBm0
)

// sender sends the caller's audio as RTP, one packet per 20 ms, on a
// clock that does not drift: packet n leaves at start + n*20ms however
// late the previous one was. Key presses go out as RFC 4733 events on the
// negotiated telephone-event payload type instead of audio for as long as
// the event lasts.
type sender struct {
	conn     *net.UDPConn
	dst      netip.AddrPort
	pt, dtmf uint8 // audio and telephone-event payload types
	src      frameSource
	watch    *flowWatch

	pkt     rtp.Packet
	out     [1500]byte
	payload [media.FrameSamples]byte
	pcm     [media.FrameSamples]int16
	ev      [4]byte
	ts0     uint32

	// The key press being sent.
	key     byte
	keyTS   uint32
	keySlot int // frames of it sent
	tone    int // frames of tone (before the end packets)
	last    int // the slot of its last end packet

	mu       sync.Mutex
	sent     int // packets
	frames   int // 20 ms slots done
	err      error
	speaking bool
}

func newSender(conn *net.UDPConn, dst netip.AddrPort, pt, dtmf uint8, src frameSource, watch *flowWatch) *sender {
	s := &sender{conn: conn, dst: dst, pt: pt, dtmf: dtmf, src: src, watch: watch}
	s.pkt.Version = 2
	s.pkt.SSRC = rand.Uint32()
	s.pkt.SequenceNumber = uint16(rand.Uint32())
	s.ts0 = rand.Uint32()
	return s
}

// run sends until ctx is done or the caller hangs up; then it returns
// true (hung up) or false.
func (s *sender) run(ctx context.Context) bool {
	const frame = media.FrameDuration
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	start := time.Now()
	for n := 0; ; n++ {
		if d := time.Until(start.Add(time.Duration(n) * frame)); d > 0 {
			t.Reset(d)
			select {
			case <-ctx.Done():
				return false
			case <-t.C:
			}
		} else if ctx.Err() != nil {
			return false
		}
		if s.slot(n) {
			return true
		}
	}
}

// slot sends what goes out in frame slot n; true when the caller hangs
// up instead.
func (s *sender) slot(n int) bool {
	f := s.src.Frame(s.pcm[:])
	if f.Hangup {
		s.speech(false)
		return true
	}
	s.speech(f.Speech)
	ts := s.ts0 + uint32(n)*media.FrameSamples
	if f.Key != 0 && s.dtmf != 0 {
		s.startKey(f.Key, f.KeyFrames, ts)
	}
	if s.key != 0 {
		s.sendKey()
	} else {
		if s.pt == media.PayloadPCMA {
			media.EncodeALaw(s.payload[:], s.pcm[:])
		} else {
			media.EncodeULaw(s.payload[:], s.pcm[:])
		}
		s.write(s.pt, n == 0, ts, s.payload[:])
	}
	s.mu.Lock()
	s.frames = n + 1
	s.mu.Unlock()
	return false
}

func (s *sender) speech(on bool) {
	if on != s.speaking {
		s.speaking = on
		s.watch.speaking(on, time.Now())
	}
}

// startKey begins a key press that lasts frames slots: tone packets, then
// the 3 end packets in the slots after them, all within those slots (the
// end packets share the last slot when the press is very short).
func (s *sender) startKey(key byte, frames int, ts uint32) {
	code := 0
	for i := range len(dtmfKeys) {
		if dtmfKeys[i] == key {
			code = i
		}
	}
	frames = max(frames, 1)
	s.key = byte(code) + 1
	s.keyTS = ts
	s.keySlot = 0
	s.tone = max(1, min(maxToneFrames, frames-endPackets))
	s.last = min(s.tone+endPackets-1, frames-1)
}

// sendKey sends this slot's packets of the key press.
func (s *sender) sendKey() {
	j := s.keySlot
	s.ev[0] = s.key - 1
	if j < s.tone {
		s.ev[1] = eventVolume
		binary.BigEndian.PutUint16(s.ev[2:], uint16((j+1)*media.FrameSamples))
		s.write(s.dtmf, j == 0, s.keyTS, s.ev[:])
	}
	for i := range endPackets {
		if min(s.tone+i, s.last) == j {
			s.ev[1] = 0x80 | eventVolume
			binary.BigEndian.PutUint16(s.ev[2:], uint16(s.tone*media.FrameSamples))
			s.write(s.dtmf, false, s.keyTS, s.ev[:])
		}
	}
	s.keySlot++
	if j >= s.last {
		s.key = 0
	}
}

func (s *sender) write(pt uint8, marker bool, ts uint32, payload []byte) {
	s.pkt.PayloadType = pt
	s.pkt.Marker = marker
	s.pkt.Timestamp = ts
	s.pkt.Payload = payload
	n, err := s.pkt.MarshalTo(s.out[:])
	if err == nil {
		_, err = s.conn.WriteToUDPAddrPort(s.out[:n], s.dst)
	}
	s.pkt.SequenceNumber++
	s.mu.Lock()
	if err == nil {
		s.sent++
	} else if s.err == nil && !errors.Is(err, net.ErrClosed) {
		// A write racing the end of the call, which closes the socket,
		// is no sending failure.
		s.err = err
	}
	s.mu.Unlock()
}

// stats returns the packets sent, the slots done and the first error.
func (s *sender) stats() (packets, frames int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent, s.frames, s.err
}

// receiver reads the server's RTP, decodes its G.711 and keeps what the
// report needs: how much audio came, how loud the prompts were, and (for
// --record) the audio itself.
type receiver struct {
	conn  *net.UDPConn
	watch *flowWatch
	keep  bool

	mu      sync.Mutex
	packets int
	frames  int // audio frames
	sound   int // of them, not silent
	sumSq   float64
	samples int // in sumSq
	pcm     []int16
	ssrcs   map[uint32]bool
	from    netip.AddrPort
}

// silentPeak is the loudest sample of a frame that counts as the server's
// silence: it sends digital silence (0xFF µ-law, 0xD5 A-law) when no
// prompt plays, and synthesised prompts pause in digital zero too.
const silentPeak = 16

func (r *receiver) run() {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	var pcm [media.FrameSamples * 2]int16
	for {
		n, from, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ICMP errors surface here on some systems
		}
		if pkt.Unmarshal(buf[:n]) != nil || pkt.Version != 2 {
			continue
		}
		now := time.Now()
		var frame []int16
		switch pkt.PayloadType {
		case media.PayloadPCMU:
			frame = pcm[:min(len(pkt.Payload), len(pcm))]
			media.DecodeULaw(frame, pkt.Payload[:len(frame)])
		case media.PayloadPCMA:
			frame = pcm[:min(len(pkt.Payload), len(pcm))]
			media.DecodeALaw(frame, pkt.Payload[:len(frame)])
		}
		r.mu.Lock()
		r.packets++
		r.from = from
		if r.ssrcs == nil {
			r.ssrcs = map[uint32]bool{}
		}
		r.ssrcs[pkt.SSRC] = true
		if frame == nil {
			r.mu.Unlock()
			continue
		}
		peak, sq := 0, 0.0
		for _, v := range frame {
			peak = max(peak, abs(int(v)))
			sq += float64(v) * float64(v)
		}
		silent := peak <= silentPeak
		r.frames++
		if !silent {
			r.sound++
			r.sumSq += sq
			r.samples += len(frame)
		}
		if r.keep {
			r.pcm = append(r.pcm, frame...)
		}
		r.mu.Unlock()
		r.watch.audio(silent, pkt.Marker, now)
	}
}

// stats returns what was received.
func (r *receiver) stats() (frames, sound int, dbfs float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	dbfs = math.Inf(-1)
	if r.samples > 0 {
		dbfs = 20 * math.Log10(math.Sqrt(r.sumSq/float64(r.samples))/32768)
	}
	return r.frames, r.sound, dbfs
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
