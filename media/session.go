package media

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

const (
	// DefaultTimeout is Config.Timeout's default.
	DefaultTimeout = 30 * time.Second

	srEvery     = int64(5 * time.Second / FrameDuration) // ticks between RTCP SRs
	digitBuffer = 32
	maxDatagram = 1500

	// maxReads bounds what one session receives per tick (3200 packets/s),
	// so that a flood on one port cannot hold up the clock's other calls;
	// the kernel drops what the socket buffer cannot hold.
	maxReads = 64
)

// Config is one call's negotiated media.
type Config struct {
	Remote      netip.AddrPort // where to send (from SDP) until the peer is latched
	PayloadType uint8          // PayloadPCMU or PayloadPCMA, what we send and decode
	DTMFType    uint8          // telephone-event payload type; 0 = none negotiated
	Timeout     time.Duration  // no RTP for this long fires Timeout(); 0 = DefaultTimeout
	Logger      *slog.Logger   // already carries call_id; nil = slog.Default()
}

// SessionStats is a snapshot of a session's counters.
type SessionStats struct {
	PacketsSent, BytesSent uint64 // RTP packets and their bytes, headers included
	SendErrors             uint64

	PacketsReceived, BytesReceived uint64 // accepted from the latched source
	Lost, Late, Duplicates         uint64 // from the jitter buffer
	WrongSource                    uint64 // valid RTP from other than the latched source
	WrongPayloadType               uint64 // not audio, telephone-event or comfort noise
	Invalid                        uint64 // not RTP version 2, or truncated
	DigitsDropped                  uint64 // Digits() was full

	Remote  netip.AddrPort // where packets go now
	Latched netip.AddrPort // the peer's actual source; zero until the first packet
}

// Session is one call's media: on each tick of the shared Clock it sends a
// packet (prompt audio or silence), then receives, reorders and decodes
// what the peer sent since the last tick.
type Session struct {
	rtpConn  *RTPConn
	rtcpConn *net.UDPConn
	ports    *Ports
	clock    *Clock
	log      *slog.Logger
	local    netip.AddrPort
	timeout  time.Duration

	// lifeMu orders Start and Close: once Close has left the clock, no
	// Start can join it, so no tick uses the RTP socket after Close
	// closed it. It is not mu because a tick takes its shard's lock and
	// then mu, and Start takes the shard's lock.
	lifeMu sync.Mutex
	shard  *shard

	// Sender state, touched only on the clock's shard goroutine.
	pkt      rtp.Packet
	out      [maxDatagram]byte
	payload  [FrameSamples]byte
	frame    [FrameSamples]int16
	ticked   bool
	lastTick int64
	lastSend time.Time
	srTick   int64
	marker   bool
	recvMark time.Time
	recvSeen uint64
	timedOut bool

	// Receiver state, touched only on the clock's shard goroutine.
	rxTicks   uint64
	rxBacklog bool // the last drain found more than one datagram

	mu         sync.Mutex // guards the fields below
	remote     netip.AddrPort
	latched    netip.AddrPort
	rtcpRemote netip.AddrPort
	gen        uint16
	pt, dtmfPT uint8
	sending    bool
	queue      []*Playback
	started    bool
	closed     bool

	recv      receiver
	recvOn    atomic.Bool
	timeoutCh chan struct{}

	sent, sentBytes, sendErrors atomic.Uint64

	wg        sync.WaitGroup
	closeOnce sync.Once
}

// NewSession wraps a socket pair (from Ports.Listen) as a call's media.
// Nothing runs until Start. The session owns the sockets from now on and
// gives the port back to ports (if not nil) on Close. Without a clock it
// neither sends nor receives RTP by itself.
func NewSession(rtpConn *RTPConn, rtcpConn *net.UDPConn, ports *Ports, clock *Clock, cfg Config) *Session {
	s := &Session{
		rtpConn:   rtpConn,
		rtcpConn:  rtcpConn,
		ports:     ports,
		clock:     clock,
		log:       cfg.Logger,
		timeout:   cfg.Timeout,
		remote:    cfg.Remote,
		pt:        cfg.PayloadType,
		dtmfPT:    cfg.DTMFType,
		sending:   true,
		marker:    true,
		timeoutCh: make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if rtpConn != nil {
		s.local = netip.AddrPortFrom(rtpConn.local.Addr().Unmap(), rtpConn.local.Port())
	}
	s.pkt.Header = rtp.Header{
		Version:        2,
		SSRC:           rand.Uint32(),
		SequenceNumber: uint16(rand.Uint32()),
		Timestamp:      rand.Uint32(),
	}
	s.recv.jb = NewJitter(DefaultJitterDepth)
	s.recv.digits = make(chan Digit, digitBuffer)
	s.recv.onLatch = s.latch
	s.recv.cfg.Store(packCfg(s.pt, s.dtmfPT, 0))
	s.recvOn.Store(true)
	return s
}

// LocalAddr is the address the RTP socket is bound to. When bound to all
// interfaces its address is unspecified, and the SDP needs the public one.
func (s *Session) LocalAddr() netip.AddrPort { return s.local }

// Start begins receiving and sending (silence until Play). It does nothing
// after Close or a previous Start.
func (s *Session) Start() {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	s.mu.Lock()
	if s.started || s.closed {
		s.mu.Unlock()
		return
	}
	s.started = true
	s.mu.Unlock()
	if s.rtpConn != nil {
		s.rtpConn.startReader(&s.recv, &s.wg)
	}
	if s.rtcpConn != nil {
		s.wg.Go(s.readRTCP)
	}
	if s.clock != nil {
		s.shard = s.clock.register(s)
	}
}

// SetRemote applies a re-INVITE's answer. Sequence numbers, timestamps and
// SSRC carry on, so the peer hears no restart. If the address changed, the
// session sends there and latches afresh on the first packet that arrives.
func (s *Session) SetRemote(remote netip.AddrPort, payloadType, dtmfType uint8) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if remote != s.remote {
		s.remote = remote
		s.latched = netip.AddrPort{}
		s.rtcpRemote = netip.AddrPort{}
		s.gen++
	}
	s.pt, s.dtmfPT = payloadType, dtmfType
	s.recv.cfg.Store(packCfg(payloadType, dtmfType, s.gen))
}

// SetDirection follows the SDP direction. send=false stops sending (the
// peer put us on hold: sendonly/inactive); prompts pause with it, and
// timestamps keep running so the peer sees the pause when sending resumes.
// Sending also waits, the same way, while there is no address to send to
// (no Config.Remote and nothing latched yet).
// recv=false suspends the no-RTP timeout, because a held caller sends
// nothing.
func (s *Session) SetDirection(send, recv bool) {
	s.mu.Lock()
	s.sending = send
	s.mu.Unlock()
	s.recvOn.Store(recv)
}

// Digits delivers the caller's key presses (RFC 4733), one per event. It is
// buffered; when it is full, further digits are dropped and counted.
func (s *Session) Digits() <-chan Digit { return s.recv.digits }

// OnAudio sets fn to receive each decoded 20 ms frame in playout order,
// including concealment for lost packets. fn runs on the clock's goroutine
// (on Linux; elsewhere on the session's receive goroutine): it must return
// quickly, must not keep frame after it returns, and must not call Close.
// Set it before Start.
func (s *Session) OnAudio(fn func(frame []int16)) { s.recv.onAudio = fn }

// Timeout is closed once no RTP has arrived for Config.Timeout while
// receiving is on; the call's owner then hangs up.
func (s *Session) Timeout() <-chan struct{} { return s.timeoutCh }

// Stats returns the session's counters; safe from any goroutine.
func (s *Session) Stats() SessionStats {
	js := s.recv.jb.Stats()
	st := SessionStats{
		PacketsSent:      s.sent.Load(),
		BytesSent:        s.sentBytes.Load(),
		SendErrors:       s.sendErrors.Load(),
		PacketsReceived:  s.recv.packets.Load(),
		BytesReceived:    s.recv.bytes.Load(),
		Lost:             js.Lost,
		Late:             js.Late,
		Duplicates:       js.Duplicates,
		WrongSource:      s.recv.wrongSource.Load(),
		WrongPayloadType: s.recv.wrongPT.Load(),
		Invalid:          s.recv.invalid.Load(),
		DigitsDropped:    s.recv.digitsDropped.Load(),
	}
	s.mu.Lock()
	st.Remote, st.Latched = s.destLocked(), s.latched
	s.mu.Unlock()
	return st
}

// Close stops the session: it leaves the clock, closes both sockets, waits
// for its goroutines, gives the port back and ends every queued Playback.
// Later calls do nothing and return nil. It waits for a tick in progress,
// so it must not be called from the OnAudio callback.
func (s *Session) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.lifeMu.Lock()
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		sh := s.shard
		s.lifeMu.Unlock()
		if sh != nil {
			sh.unregister(s) // no tick uses the RTP socket from here on
		}
		if s.rtpConn != nil {
			err = s.rtpConn.Close()
		}
		if s.rtcpConn != nil {
			err = errors.Join(err, s.rtcpConn.Close())
		}
		s.wg.Wait()
		if s.ports != nil && s.local.IsValid() {
			s.ports.Release(int(s.local.Port()))
		}
		s.StopAll()
	})
	return err
}

func (s *Session) latch(from netip.AddrPort, gen uint16) {
	s.mu.Lock()
	if gen == s.gen {
		s.latched = from
	}
	s.mu.Unlock()
	s.log.Debug("media: latched to peer", "remote", from)
}

// destLocked is where RTP goes: the latched source once known, else the
// SDP address.
func (s *Session) destLocked() netip.AddrPort {
	if s.latched.IsValid() {
		return s.latched
	}
	return s.remote
}

// drainEvery is how often (in ticks) clockReceive reads the socket until
// it is empty when the peer sends one datagram per tick.
const drainEvery = 4

// clockReceive runs on the clock's shard goroutine, after the tick's sends:
// it hands the datagrams that arrived since the last tick to the receiver.
//
// Reading until the socket is empty would cost a second, empty read on
// every tick for a peer that sends one packet per tick, as nearly all do
// (20 ms packets against our 20 ms tick). So a tick reads one datagram,
// and reads on until the socket is empty only every drainEvery ticks, or
// on every tick while the last drain found more than one waiting (a peer
// that sends shorter packets, or a burst after a stall). Nothing waits in
// the socket for more than drainEvery ticks, and the jitter buffer puts
// what arrives in order.
func (s *Session) clockReceive(rx *rxBuf) {
	if s.rtpConn == nil {
		return
	}
	s.rxTicks++
	drain := s.rxBacklog || s.rxTicks%drainEvery == 0
	n := 0
	for range maxReads {
		b, from, ok := s.rtpConn.read(rx)
		if !ok {
			break
		}
		s.recv.handle(b, from)
		n++
		if !drain {
			return
		}
	}
	s.rxBacklog = n > 1
}

// readRTCP drains the RTCP socket. Reports are not used, but the first one
// from the latched peer's address tells where its RTCP really comes from
// behind NAT, which is where our SRs should go.
func (s *Session) readRTCP() {
	readUDP(s.rtcpConn, func(b []byte, from netip.AddrPort) {
		if len(b) < 8 || b[0]>>6 != 2 || b[1] < 200 || b[1] > 207 {
			return
		}
		s.mu.Lock()
		if !s.rtcpRemote.IsValid() && s.latched.IsValid() && s.latched.Addr() == from.Addr() {
			s.rtcpRemote = from
		}
		s.mu.Unlock()
	})
}

// readUDP hands each datagram of conn to fn, with its source unmapped as
// net.UDPConn gives IPv4 peers on a dual-stack socket, until conn is
// closed. b is only valid during the call.
func readUDP(conn *net.UDPConn, fn func(b []byte, from netip.AddrPort)) {
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		fn(buf[:n], netip.AddrPortFrom(from.Addr().Unmap(), from.Port()))
	}
}

// clockTick runs on the clock's shard goroutine: it sends the frames due
// since the last tick (one, normally; up to maxCatchUp after a stall, the
// rest skipped with the timestamp advanced so it keeps tracking wall
// time), checks the receive timeout and sends an SR every 5 s.
func (s *Session) clockTick(n int64, h *histogram) {
	due := int64(1)
	if s.ticked {
		due = n - s.lastTick
	}
	if due <= 0 {
		return
	}
	s.ticked = true
	s.lastTick = n
	now := time.Now()
	s.checkTimeout(now)
	if skip := due - maxCatchUp; skip > 0 {
		s.pkt.Timestamp += uint32(skip) * FrameSamples
		due = maxCatchUp
	}
	for range due {
		s.sendFrame(now, h)
	}
	if n-s.srTick >= srEvery {
		s.srTick = n
		s.sendSR(now)
	}
}

func (s *Session) checkTimeout(now time.Time) {
	if s.timedOut {
		return
	}
	got := s.recv.packets.Load()
	if !s.recvOn.Load() || got != s.recvSeen || s.recvMark.IsZero() {
		s.recvSeen, s.recvMark = got, now
		return
	}
	if now.Sub(s.recvMark) >= s.timeout {
		s.timedOut = true
		close(s.timeoutCh)
		s.log.Debug("media: no rtp received", "timeout", s.timeout) // the call owner warns and hangs up
	}
}

// sendFrame sends one packet: the next frame of the prompt at the head of
// the queue, or silence. The frame is taken under the lock Playback.Stop
// takes, so a stopped prompt never has a frame taken after Stop returns.
func (s *Session) sendFrame(now time.Time, h *histogram) {
	s.mu.Lock()
	dst, pt := s.destLocked(), s.pt
	if !s.sending || !dst.IsValid() {
		// On hold, or no address yet (late offer, waiting to latch):
		// prompts wait rather than play to nobody.
		s.mu.Unlock()
		s.pkt.Timestamp += FrameSamples
		s.marker = true // talkspurt starts again when sending resumes
		s.lastSend = time.Time{}
		return
	}
	var frame []int16
	var ended *Playback
	if len(s.queue) > 0 {
		p := s.queue[0]
		if p.pos == 0 {
			s.marker = true
		}
		start := p.pos * FrameSamples
		k := copy(s.frame[:], p.pcm[start:])
		clear(s.frame[k:])
		frame = s.frame[:]
		p.pos++
		if p.pos*FrameSamples >= len(p.pcm) {
			s.queue = slices.Delete(s.queue, 0, 1)
			ended = p
		}
	}
	s.mu.Unlock()

	n := s.marshal(frame, pt)
	if err := s.rtpConn.writeTo(s.out[:n], dst); err != nil {
		s.sendErrors.Add(1)
	} else {
		s.sent.Add(1)
		s.sentBytes.Add(uint64(n))
	}
	if !s.lastSend.IsZero() {
		h.record(now.Sub(s.lastSend))
	}
	s.lastSend = now
	s.pkt.SequenceNumber++
	s.pkt.Timestamp += FrameSamples
	s.marker = false
	if ended != nil {
		s.mu.Lock()
		ended.end(false)
		s.mu.Unlock()
	}
}

// marshal builds the next RTP packet in s.out; frame nil means silence.
func (s *Session) marshal(frame []int16, pt uint8) int {
	switch {
	case frame == nil:
		b := silenceByte(pt)
		for i := range s.payload {
			s.payload[i] = b
		}
	case pt == PayloadPCMA:
		EncodeALaw(s.payload[:], frame)
	default:
		EncodeULaw(s.payload[:], frame)
	}
	s.pkt.PayloadType = pt
	s.pkt.Marker = s.marker
	s.pkt.Payload = s.payload[:]
	n, err := s.pkt.MarshalTo(s.out[:])
	if err != nil { // cannot happen: out is larger than any packet built here
		return 0
	}
	return n
}

// sendSR sends an RTCP sender report so the peer (and monitoring) sees
// the stream alive and can map our timestamps to wall time. It allocates,
// but only every 5 s.
func (s *Session) sendSR(now time.Time) {
	s.mu.Lock()
	dst := s.rtcpRemote
	if !dst.IsValid() {
		if d := s.destLocked(); d.IsValid() {
			dst = netip.AddrPortFrom(d.Addr(), d.Port()+1)
		}
	}
	sending := s.sending
	s.mu.Unlock()
	if !dst.IsValid() || !sending || s.rtcpConn == nil {
		return
	}
	packets := s.sent.Load()
	sr := rtcp.SenderReport{
		SSRC:        s.pkt.SSRC,
		NTPTime:     ntpTime(now),
		RTPTime:     s.pkt.Timestamp,
		PacketCount: uint32(packets),
		OctetCount:  uint32(packets * FrameSamples),
	}
	b, err := sr.Marshal()
	if err != nil {
		return
	}
	if _, err := s.rtcpConn.WriteToUDPAddrPort(b, dst); err != nil {
		s.sendErrors.Add(1)
	}
}

// ntpTime is t in RFC 3550's 64-bit NTP format (seconds since 1900).
func ntpTime(t time.Time) uint64 {
	const unixToNTP = 2208988800
	secs := uint64(t.Unix()) + unixToNTP
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}

// Playback is one queued prompt.
type Playback struct {
	s       *Session
	pcm     []int16
	pos     int // frames taken; guarded by s.mu like the fields below
	ended   bool
	stopped bool
	done    chan struct{}
}

// Play queues pcm (8 kHz PCM16, any length; the last frame is padded with
// silence) after whatever is queued. pcm is not copied, so prompts rendered
// once can be played by many calls; it must not change until Done. Playing
// on a closed session returns a Playback that is already stopped.
func (s *Session) Play(pcm []int16) *Playback {
	p := &Playback{s: s, pcm: pcm, done: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		p.end(true)
	case len(pcm) == 0:
		p.end(false)
	default:
		s.queue = append(s.queue, p)
	}
	return p
}

// StopAll stops every queued prompt, the playing one included.
func (s *Session) StopAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, p := range s.queue {
		p.end(true)
		s.queue[i] = nil
	}
	s.queue = s.queue[:0]
}

// Done is closed when the last frame has been sent, or on Stop.
func (p *Playback) Done() <-chan struct{} { return p.done }

// Stop ends the prompt for barge-in: once Stop returns, no frame of it is
// taken for sending, so at most the one frame already being sent goes out
// and the next tick sends silence (or the next queued prompt). Stopping an
// ended prompt does nothing.
func (p *Playback) Stop() {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.ended {
		return
	}
	for i, q := range s.queue {
		if q == p {
			s.queue = slices.Delete(s.queue, i, i+1)
			break
		}
	}
	p.end(true)
}

// Stopped reports whether the prompt was stopped before its end.
func (p *Playback) Stopped() bool {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	return p.stopped
}

// end finishes p; s.mu must be held (or p not yet shared).
func (p *Playback) end(stopped bool) {
	if p.ended {
		return
	}
	p.ended, p.stopped = true, stopped
	close(p.done)
}
