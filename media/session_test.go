package media

import (
	"context"
	"math"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// testEnv is a running clock and a port allocator, stopped at cleanup.
type testEnv struct {
	t     *testing.T
	ports *Ports
	clock *Clock
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	ports, err := NewPorts(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	clock := NewClock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		clock.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return &testEnv{t: t, ports: ports, clock: clock}
}

func (e *testEnv) session(cfg Config) *Session {
	e.t.Helper()
	rtpConn, rtcpConn, err := e.ports.Listen(loopback)
	if err != nil {
		e.t.Fatal(err)
	}
	s := NewSession(rtpConn, rtcpConn, e.ports, e.clock, cfg)
	e.t.Cleanup(func() { s.Close() })
	return s
}

// peer is the far end: a plain UDP socket on loopback.
type peer struct {
	t    *testing.T
	conn *net.UDPConn
	buf  []byte
}

func newPeer(t *testing.T) *peer {
	t.Helper()
	c, err := net.ListenUDP("udp", udpAddr(loopback, 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &peer{t: t, conn: c, buf: make([]byte, maxDatagram)}
}

func (p *peer) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

type rxPacket struct {
	rtp.Packet
	from netip.AddrPort
	at   time.Time
}

// read returns the next RTP packet; the deadline only guards against a
// hung test.
func (p *peer) read() rxPacket {
	p.t.Helper()
	p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := p.conn.ReadFromUDPAddrPort(p.buf)
	if err != nil {
		p.t.Fatalf("peer read: %v", err)
	}
	var pkt rxPacket
	if err := pkt.Unmarshal(append([]byte(nil), p.buf[:n]...)); err != nil {
		p.t.Fatalf("peer got a bad packet: %v", err)
	}
	pkt.from, pkt.at = from, time.Now()
	return pkt
}

func (p *peer) readN(n int) []rxPacket {
	out := make([]rxPacket, n)
	for i := range out {
		out[i] = p.read()
	}
	return out
}

func (p *peer) send(to netip.AddrPort, pt uint8, seq uint16, ts uint32, ssrc uint32, payload []byte) {
	p.t.Helper()
	b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc}, Payload: payload}).Marshal()
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.conn.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Fatal(err)
	}
}

// tone is a 1 kHz sine at about -6 dBFS.
func tone(samples int) []int16 {
	pcm := make([]int16, samples)
	for i := range pcm {
		pcm[i] = int16(16000 * math.Sin(2*math.Pi*1000*float64(i)/SampleRate))
	}
	return pcm
}

func rms(payload []byte, pt uint8) float64 {
	pcm := make([]int16, len(payload))
	if pt == PayloadPCMA {
		DecodeALaw(pcm, payload)
	} else {
		DecodeULaw(pcm, payload)
	}
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(pcm)))
}

func isDone(p *Playback) bool {
	select {
	case <-p.Done():
		return true
	default:
		return false
	}
}

func TestSessionSequencing(t *testing.T) {
	for _, pt := range []uint8{PayloadPCMU, PayloadPCMA} {
		e := newEnv(t)
		far := newPeer(t)
		s := e.session(Config{Remote: far.addr(), PayloadType: pt})
		s.Start()

		pkts := far.readN(3)
		prompt1 := tone(10 * FrameSamples)
		p1 := s.Play(prompt1)
		for !isDone(p1) {
			pkts = append(pkts, far.read())
		}
		pkts = append(pkts, far.readN(6)...)
		prompt2 := tone(7*FrameSamples + 80) // last frame half padded
		p2 := s.Play(prompt2)
		for !isDone(p2) {
			pkts = append(pkts, far.read())
		}
		pkts = append(pkts, far.readN(3)...)
		if p1.Stopped() || p2.Stopped() {
			t.Fatal("prompt reported stopped")
		}

		var loud, talkspurts, skips int
		for i, p := range pkts {
			if p.Version != 2 || p.PayloadType != pt || len(p.Payload) != FrameSamples {
				t.Fatalf("packet %d: %v", i, p.Header)
			}
			if i > 0 {
				q := pkts[i-1]
				dts := p.Timestamp - q.Timestamp
				if dts != FrameSamples {
					// Only a clock stall beyond the catch-up limit skips
					// timestamps, and only by whole frames.
					skips++
				}
				if p.SSRC != q.SSRC || p.SequenceNumber != q.SequenceNumber+1 || dts%FrameSamples != 0 || dts == 0 {
					t.Fatalf("packet %d: ssrc %x seq %d ts %d after ssrc %x seq %d ts %d",
						i, p.SSRC, p.SequenceNumber, p.Timestamp, q.SSRC, q.SequenceNumber, q.Timestamp)
				}
			}
			level := rms(p.Payload, pt)
			isLoud := level > 3000
			if !isLoud && level > 10 {
				t.Fatalf("packet %d neither prompt nor silence: rms %.0f", i, level)
			}
			start := isLoud && (i == 0 || rms(pkts[i-1].Payload, pt) < 3000)
			if start {
				talkspurts++
				// The first prompt frame is the prompt, to codec precision.
				want := make([]byte, FrameSamples)
				if pt == PayloadPCMA {
					EncodeALaw(want, prompt1[:FrameSamples])
				} else {
					EncodeULaw(want, prompt1[:FrameSamples])
				}
				if string(want) != string(p.Payload) {
					t.Fatalf("packet %d payload is not the prompt's first frame", i)
				}
			}
			if p.Marker != (i == 0 || start) {
				t.Fatalf("packet %d: marker %v, talkspurt start %v", i, p.Marker, start)
			}
			if isLoud {
				loud++
			} else if !isSilence(p.Payload, pt) {
				t.Fatalf("packet %d: silence is not encoded zeros", i)
			}
		}
		if loud != 18 || talkspurts != 2 {
			t.Fatalf("%d loud frames in %d talkspurts, want 18 in 2", loud, talkspurts)
		}
		// ~50 packets/s. Arrival times are taken when the test reads, so
		// the median is used: a late read makes one long and one short gap.
		gaps := make([]time.Duration, len(pkts)-1)
		for i := range gaps {
			gaps[i] = pkts[i+1].at.Sub(pkts[i].at)
		}
		slices.Sort(gaps)
		interval := gaps[len(gaps)/2]
		mean := pkts[len(pkts)-1].at.Sub(pkts[0].at) / time.Duration(len(gaps))
		if interval < 15*time.Millisecond || interval > 25*time.Millisecond || mean < 15*time.Millisecond || mean > 30*time.Millisecond {
			t.Fatalf("median interval %v, mean %v, want ~20ms", interval, mean)
		}
		st := e.clock.Stats()
		if skips > 0 && st.Max < (maxCatchUp+1)*FrameDuration {
			t.Fatalf("%d timestamp skips without a clock stall: %+v", skips, st)
		}
		if st.Count == 0 || st.P50 < 18*time.Millisecond || st.P50 > 22*time.Millisecond {
			t.Fatalf("clock stats %+v", st)
		}
		// The counter may not yet count the packet just read.
		if ss := s.Stats(); ss.PacketsSent+1 < uint64(len(pkts)) || ss.Remote != far.addr() {
			t.Fatalf("session stats %+v", ss)
		}
		t.Logf("pt %d: %d packets, mean interval %v, clock %+v", pt, len(pkts), interval, st)
	}
}

func isSilence(payload []byte, pt uint8) bool {
	for _, b := range payload {
		if b != silenceByte(pt) {
			return false
		}
	}
	return true
}

func TestPlaybackStopWithinOneFrame(t *testing.T) {
	e := newEnv(t)
	far := newPeer(t)
	s := e.session(Config{Remote: far.addr()})
	s.Start()
	p := s.Play(tone(250 * FrameSamples))
	next := s.Play(tone(2 * FrameSamples))

	first := far.read()
	loud := 0
	for loud < 3 {
		if rms(far.read().Payload, PayloadPCMU) > 3000 {
			loud++
		}
	}
	p.Stop()
	sentAtStop := s.Stats().PacketsSent
	if !isDone(p) || !p.Stopped() {
		t.Fatal("Stop did not end the playback")
	}
	p.Stop() // again: no effect

	// Every packet sent after Stop returned has ordinal >= sentAtStop; at
	// most one of them (the frame already taken) may be the stopped prompt.
	// The next prompt then plays: 2 frames, after which only silence.
	var after []bool
	for {
		pkt := far.read()
		ord := uint64(uint16(pkt.SequenceNumber - first.SequenceNumber))
		if ord < sentAtStop {
			continue
		}
		after = append(after, rms(pkt.Payload, PayloadPCMU) > 3000)
		if len(after) == 6 {
			break
		}
	}
	var loudAfter int
	for _, l := range after {
		if l {
			loudAfter++
		}
	}
	if loudAfter > 3 || after[4] || after[5] {
		t.Fatalf("after Stop: loud pattern %v, want at most 1 stale frame then the 2-frame prompt", after)
	}
	<-next.Done()
	if next.Stopped() {
		t.Fatal("Stop of one prompt stopped the next")
	}

	// StopAll ends everything queued.
	a, b := s.Play(tone(100*FrameSamples)), s.Play(tone(100*FrameSamples))
	s.StopAll()
	if !isDone(a) || !isDone(b) || !a.Stopped() || !b.Stopped() {
		t.Fatal("StopAll left a playback running")
	}
}

func TestSessionLatching(t *testing.T) {
	e := newEnv(t)
	sdp, a, b := newPeer(t), newPeer(t), newPeer(t)
	s := e.session(Config{Remote: sdp.addr(), Timeout: time.Minute})
	frames := make(chan int16, 64)
	s.OnAudio(func(f []int16) { frames <- f[0] })
	s.Start()

	sdp.read() // before latching, packets go to the SDP address

	payload := func(v int16) []byte {
		pcm := make([]int16, FrameSamples)
		for i := range pcm {
			pcm[i] = v
		}
		enc := make([]byte, FrameSamples)
		EncodeULaw(enc, pcm)
		return enc
	}
	a.send(s.LocalAddr(), PayloadPCMU, 1, 160, 0xA, payload(1000))
	if v := <-frames; v != g711u(1000) {
		t.Fatalf("frame from A = %d, want %d", v, g711u(1000))
	}
	// From the next tick on, packets go to A.
	if got := a.read(); got.PayloadType != PayloadPCMU {
		t.Fatal("A got a bad packet")
	}
	if st := s.Stats(); st.Latched != a.addr() || st.Remote != a.addr() {
		t.Fatalf("latched %v remote %v, want %v", st.Latched, st.Remote, a.addr())
	}

	for i := range 3 {
		b.send(s.LocalAddr(), PayloadPCMU, uint16(2+i), 320, 0xB, payload(-5000))
	}
	// Loopback keeps order: once A's next packet is played out, B's are
	// known to have been handled.
	a.send(s.LocalAddr(), PayloadPCMU, 2, 320, 0xA, payload(2000))
	if v := <-frames; v != g711u(2000) {
		t.Fatalf("frame after B's packets = %d, want A's %d", v, g711u(2000))
	}
	if st := s.Stats(); st.WrongSource != 3 || st.PacketsReceived != 2 {
		t.Fatalf("stats %+v, want 3 wrong-source and 2 received", st)
	}

	// A re-INVITE to a new address latches afresh; seq/ts/SSRC carry on.
	last := a.read()
	s.SetRemote(b.addr(), PayloadPCMA, 101)
	var pkt rxPacket
	for pkt = b.read(); pkt.PayloadType != PayloadPCMA; pkt = b.read() {
	}
	if pkt.SSRC != last.SSRC || uint16(pkt.SequenceNumber-last.SequenceNumber) > 10 ||
		(pkt.Timestamp-last.Timestamp)%FrameSamples != 0 {
		t.Fatalf("after SetRemote: %v, before: %v", pkt.Header, last.Header)
	}
}

func TestSessionReceiveTimeout(t *testing.T) {
	e := newEnv(t)
	far := newPeer(t)
	s := e.session(Config{Remote: far.addr(), Timeout: 100 * time.Millisecond})
	s.Start()
	for i := range 3 {
		far.send(s.LocalAddr(), PayloadPCMU, uint16(i), uint32(i*160), 1, make([]byte, 160))
	}
	select {
	case <-s.Timeout():
	case <-time.After(5 * time.Second):
		t.Fatal("timeout did not fire")
	}
	if s.Stats().PacketsReceived != 3 {
		t.Fatalf("received %d, want 3", s.Stats().PacketsReceived)
	}
}

func TestSessionNoTimeoutWhileHeld(t *testing.T) {
	e := newEnv(t)
	far := newPeer(t)
	s := e.session(Config{Remote: far.addr(), Timeout: 60 * time.Millisecond})
	s.SetDirection(true, false)
	s.Start()
	// 15 ticks (300 ms, five timeouts) pass without RTP while held.
	far.readN(15)
	select {
	case <-s.Timeout():
		t.Fatal("timeout fired while recv is off")
	default:
	}
	s.SetDirection(true, true)
	select {
	case <-s.Timeout():
	case <-time.After(5 * time.Second):
		t.Fatal("timeout did not fire after resuming")
	}
}

func TestSessionHoldStopsSending(t *testing.T) {
	e := newEnv(t)
	far := newPeer(t)
	s := e.session(Config{Remote: far.addr()})
	s.Start()
	before := far.read()
	s.SetDirection(false, true)
	sent := s.Stats().PacketsSent
	// Let the clock run ticks while held: wait on another session's sends.
	other := newPeer(t)
	o := e.session(Config{Remote: other.addr()})
	o.Start()
	other.readN(5)
	if got := s.Stats().PacketsSent; got > sent+1 {
		t.Fatalf("sent %d packets while on hold", got-sent)
	}
	s.SetDirection(true, true)
	// The first packet after the hold follows on in sequence, but its
	// timestamp has moved on by the time held, and it starts a talkspurt.
	prev := before
	for range 100 {
		p := far.read()
		if p.SequenceNumber != prev.SequenceNumber+1 {
			t.Fatalf("seq %d after %d", p.SequenceNumber, prev.SequenceNumber)
		}
		if p.Timestamp-prev.Timestamp > FrameSamples {
			if !p.Marker || p.Timestamp-prev.Timestamp < 3*FrameSamples {
				t.Fatalf("resumed packet %v after %v: want marker and timestamp past the hold", p.Header, prev.Header)
			}
			return
		}
		prev = p
	}
	t.Fatal("no packet after the hold")
}

// g711u is v after a trip through µ-law.
func g711u(v int16) int16 {
	var b [1]byte
	var out [1]int16
	EncodeULaw(b[:], []int16{v})
	DecodeULaw(out[:], b[:])
	return out[0]
}

func TestSessionCloseLeavesNothing(t *testing.T) {
	base := runtime.NumGoroutine()
	func() {
		ports, err := NewPorts(0, 0)
		if err != nil {
			t.Fatal(err)
		}
		clock := NewClock()
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		go func() {
			clock.Run(ctx)
			close(stopped)
		}()
		defer func() {
			cancel()
			<-stopped
		}()
		e := &testEnv{t: t, ports: ports, clock: clock}
		far := newPeer(t)
		var pbs []*Playback
		for range 3 {
			s := e.session(Config{Remote: far.addr()})
			s.Start()
			pbs = append(pbs, s.Play(tone(500*FrameSamples)))
			far.read()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal("second Close:", err)
			}
			if p := s.Play(tone(10)); !isDone(p) || !p.Stopped() {
				t.Fatal("Play after Close did not return a stopped playback")
			}
		}
		// A session closed without Start.
		e.session(Config{}).Close()
		for _, p := range pbs {
			if !isDone(p) {
				t.Fatal("Close left a playback's Done open")
			}
		}
		if n := e.ports.InUse(); n != 0 {
			t.Fatalf("%d port pairs still in use", n)
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want %d:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
	}
}
