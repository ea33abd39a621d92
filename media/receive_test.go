package media

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

var (
	peerA = netip.MustParseAddrPort("192.0.2.1:4000")
	peerB = netip.MustParseAddrPort("192.0.2.2:4000")
)

// offline is a session with no sockets, fed by calling the receiver
// directly: deterministic and fast.
func offline(cfg Config) (*Session, *[][]int16) {
	s := NewSession(nil, nil, nil, nil, cfg)
	var frames [][]int16
	s.OnAudio(func(f []int16) {
		if len(f) != FrameSamples {
			panic("frame of wrong length")
		}
		frames = append(frames, append([]int16(nil), f...))
	})
	return s, &frames
}

func marshalRTP(t testing.TB, h rtp.Header, payload []byte) []byte {
	h.Version = 2
	b, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseRTPMatchesPion(t *testing.T) {
	cases := []rtp.Packet{
		{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 65535, Timestamp: 1 << 31, SSRC: 42, Marker: true}, Payload: []byte{1, 2, 3}},
		{Header: rtp.Header{Version: 2, PayloadType: 101, SequenceNumber: 7, CSRC: []uint32{1, 2, 3}}, Payload: []byte{9}},
		{Header: rtp.Header{Version: 2, PayloadType: 8, Padding: true, PaddingSize: 3}, Payload: bytes.Repeat([]byte{0xD5}, 160), PaddingSize: 3},
	}
	ext := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: 5}, Payload: []byte{4, 5, 6, 7}}
	if err := ext.SetExtension(1, []byte{0xAA, 0xBB}); err != nil {
		t.Fatal(err)
	}
	cases = append(cases, ext)
	for i, c := range cases {
		b, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var want rtp.Packet
		if err := want.Unmarshal(b); err != nil {
			t.Fatal(err)
		}
		h, payload, ok := parseRTP(b)
		if !ok || h.marker != want.Marker || h.pt != want.PayloadType || h.seq != want.SequenceNumber ||
			h.ts != want.Timestamp || h.ssrc != want.SSRC || !bytes.Equal(payload, want.Payload) {
			t.Errorf("case %d: got %+v %v, want %v %v", i, h, payload, want.Header, want.Payload)
		}
	}
	for _, bad := range [][]byte{nil, make([]byte, 11), {0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		{0x81, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 13},
		{0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}} {
		if _, _, ok := parseRTP(bad); ok {
			t.Errorf("parseRTP(%x) accepted", bad)
		}
	}
}

func TestReceivePtimeRechunk(t *testing.T) {
	s, frames := offline(Config{PayloadType: PayloadPCMA})
	// 10, 30, 40 and 20 ms packets: 80+240+320+160 = 800 samples = 5 frames.
	seq, ts := uint16(100), uint32(0)
	var want []int16
	for _, n := range []int{80, 240, 320, 160} {
		pcm := make([]int16, n)
		for i := range pcm {
			pcm[i] = int16(len(want)+i) * 8
		}
		enc := make([]byte, n)
		EncodeALaw(enc, pcm)
		dec := make([]int16, n)
		DecodeALaw(dec, enc)
		want = append(want, dec...)
		s.recv.handle(marshalRTP(t, rtp.Header{PayloadType: PayloadPCMA, SequenceNumber: seq, Timestamp: ts, SSRC: 9}, enc), peerA)
		seq++
		ts += uint32(n)
	}
	if len(*frames) != 5 {
		t.Fatalf("got %d frames, want 5", len(*frames))
	}
	var got []int16
	for _, f := range *frames {
		got = append(got, f...)
	}
	if !slicesEqual(got, want) {
		t.Fatal("re-chunked audio differs from what was sent")
	}
}

func slicesEqual(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReceiveDemux(t *testing.T) {
	s, frames := offline(Config{PayloadType: PayloadPCMU, DTMFType: 101})
	loud := bytes.Repeat([]byte{0x80}, 160) // µ-law full scale
	var seq uint16 = 1
	send := func(pt uint8, ts uint32, payload []byte) {
		s.recv.handle(marshalRTP(t, rtp.Header{PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: 1}, payload), peerA)
		seq++
	}
	send(PayloadPCMU, 0, loud)
	// A key press: events fill their sequence slots as silence.
	for _, p := range keyPress(160, 7) {
		send(101, p.ts, p.payload[:])
	}
	send(PayloadCN, 2000, []byte{40})
	send(PayloadPCMU, 2160, loud)
	send(96, 2320, loud) // not negotiated
	s.recv.handle([]byte{0x40, 1, 2}, peerA)

	select {
	case d := <-s.Digits():
		if d.Key != '7' {
			t.Fatalf("digit %q, want '7'", d.Key)
		}
	default:
		t.Fatal("no digit")
	}
	select {
	case d := <-s.Digits():
		t.Fatalf("extra digit %v", d)
	default:
	}
	// 1 audio + 7 event packets + 1 CN + 1 audio, all in sequence: no loss.
	if len(*frames) != 10 {
		t.Fatalf("got %d frames, want 10", len(*frames))
	}
	for i, f := range *frames {
		isLoud := f[0] == 32124
		if isLoud != (i == 0 || i == 9) {
			t.Fatalf("frame %d first sample %d", i, f[0])
		}
	}
	st := s.Stats()
	if st.Lost != 0 || st.WrongPayloadType != 1 || st.Invalid != 1 || st.PacketsReceived != 10 {
		t.Fatalf("stats %+v", st)
	}
}

func TestReceiveLatchAndRelatch(t *testing.T) {
	s, frames := offline(Config{PayloadType: PayloadPCMU, Remote: peerB})
	pkt := func(seq uint16) []byte {
		return marshalRTP(t, rtp.Header{PayloadType: PayloadPCMU, SequenceNumber: seq, SSRC: 3}, make([]byte, 160))
	}
	s.recv.handle([]byte{1, 2, 3}, peerB) // junk does not latch
	s.recv.handle(pkt(1), peerA)
	s.recv.handle(pkt(2), peerB)
	s.recv.handle(pkt(2), peerA)
	if st := s.Stats(); st.Latched != peerA || st.Remote != peerA || st.WrongSource != 1 || len(*frames) != 2 {
		t.Fatalf("stats %+v, %d frames", st, len(*frames))
	}
	// Same address in a re-INVITE keeps the latch; a new one re-latches.
	s.SetRemote(peerB, PayloadPCMU, 0)
	if st := s.Stats(); st.Latched != peerA {
		t.Fatalf("same SDP address dropped the latch: %+v", st)
	}
	peerC := netip.MustParseAddrPort("192.0.2.3:5000")
	s.SetRemote(peerC, PayloadPCMU, 0)
	if st := s.Stats(); st.Remote != peerC || st.Latched.IsValid() {
		t.Fatalf("after SetRemote: %+v", st)
	}
	s.recv.handle(pkt(3), peerB)
	s.recv.handle(pkt(4), peerA)
	if st := s.Stats(); st.Latched != peerB || st.WrongSource != 2 {
		t.Fatalf("after relatch: %+v", st)
	}
}

// TestCatchUp drives clockTick by hand as if the clock stalled.
func TestCatchUp(t *testing.T) {
	far := newPeer(t)
	s := NewSession(testRTPConn(t), nil, nil, nil, Config{Remote: far.addr()})
	defer s.Close()
	var h histogram
	ticks := []int64{10, 11, 14, 30, 31}
	want := []int{1, 1, 3, 5, 1}
	var pkts []rxPacket
	for i, n := range ticks {
		s.clockTick(n, &h)
		got := far.readN(want[i])
		pkts = append(pkts, got...)
	}
	s.clockTick(31, &h) // same tick again: nothing
	// After the stall from 14 to 30 (16 frames), 5 are sent and 11 skipped.
	for i := 1; i < len(pkts); i++ {
		dts := pkts[i].Timestamp - pkts[i-1].Timestamp
		wantDTS := uint32(FrameSamples)
		if i == 5 {
			wantDTS = 12 * FrameSamples
		}
		if pkts[i].SequenceNumber != pkts[i-1].SequenceNumber+1 || dts != wantDTS {
			t.Fatalf("packet %d: seq %d ts +%d, want seq +1 ts +%d", i, pkts[i].SequenceNumber, dts, wantDTS)
		}
	}
	if got := s.Stats().PacketsSent; got != 11 {
		t.Fatalf("sent %d, want 11", got)
	}
	var count uint64
	for i := range h.buckets {
		count += h.buckets[i].Load()
	}
	if count != 10 {
		t.Fatalf("histogram holds %d intervals, want 10", count)
	}
}

func TestClockStatsPercentiles(t *testing.T) {
	c := NewClock()
	h := &c.shards[0].hist
	for range 98 {
		h.record(20*time.Millisecond + 300*time.Microsecond)
	}
	h.record(45 * time.Millisecond)
	h.record(time.Second)
	st := c.Stats()
	if st.Count != 100 || st.P50 != 20*time.Millisecond || st.P99 != 45*time.Millisecond || st.Max != time.Second {
		t.Fatalf("stats %+v", st)
	}
}

// The hot paths must not allocate: per received packet (parse, jitter
// buffer, decode, callback) and per sent packet (encode, marshal, write).
func TestPacketPathsDoNotAllocate(t *testing.T) {
	s, _ := offline(Config{PayloadType: PayloadPCMU, DTMFType: 101})
	s.OnAudio(func([]int16) {})
	pkt := marshalRTP(t, rtp.Header{PayloadType: PayloadPCMU, SSRC: 1}, make([]byte, 160))
	var seq uint16
	if n := testing.AllocsPerRun(1000, func() {
		seq++
		binary.BigEndian.PutUint16(pkt[2:], seq)
		s.recv.handle(pkt, peerA)
	}); n != 0 {
		t.Errorf("receive path: %v allocs per packet", n)
	}

	far := newPeer(t)
	tx := NewSession(testRTPConn(t), nil, nil, nil, Config{Remote: far.addr()})
	defer tx.Close()
	tx.Play(tone(2000 * FrameSamples))
	var h histogram
	now := time.Now()
	if n := testing.AllocsPerRun(1000, func() {
		tx.sendFrame(now, &h)
	}); n != 0 {
		t.Errorf("send path: %v allocs per packet", n)
	}

	// Reading from the socket too, as ticks do: two packets in one, and
	// one tick that finds nothing.
	rx := NewSession(testRTPConn(t), nil, nil, nil, Config{PayloadType: PayloadPCMU})
	defer rx.Close()
	rx.OnAudio(func([]int16) {})
	var sh shard
	if n := testing.AllocsPerRun(1000, func() {
		for range 2 {
			seq++
			binary.BigEndian.PutUint16(pkt[2:], seq)
			if _, err := far.conn.WriteToUDPAddrPort(pkt, rx.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
		rx.clockReceive(&sh.rx)
		rx.clockReceive(&sh.rx)
	}); n != 0 {
		t.Errorf("socket receive path: %v allocs per tick", n)
	}
	if got := rx.Stats().PacketsReceived; got < 1000 && clockReads {
		t.Errorf("received %d packets of 2002: the socket path was not measured", got)
	}
}

func BenchmarkReceivePacket(b *testing.B) {
	s, _ := offline(Config{PayloadType: PayloadPCMU})
	var sink int16
	s.OnAudio(func(f []int16) { sink += f[0] })
	pkt := marshalRTP(b, rtp.Header{PayloadType: PayloadPCMU, SSRC: 1}, bytes.Repeat([]byte{0x55}, 160))
	var seq uint16
	b.ReportAllocs()
	for b.Loop() {
		seq++
		binary.BigEndian.PutUint16(pkt[2:], seq)
		s.recv.handle(pkt, peerA)
	}
	_ = sink
}

func BenchmarkSendPacket(b *testing.B) {
	s := NewSession(nil, nil, nil, nil, Config{})
	frame := tone(FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		s.marshal(frame, PayloadPCMU)
	}
}

func BenchmarkSendPacketWrite(b *testing.B) {
	far, err := net.ListenUDP("udp", udpAddr(loopback, 0))
	if err != nil {
		b.Fatal(err)
	}
	defer far.Close()
	s := NewSession(testRTPConn(b), nil, nil, nil, Config{Remote: far.LocalAddr().(*net.UDPAddr).AddrPort()})
	defer s.Close()
	var h histogram
	now := time.Now()
	s.Play(tone(FrameSamples * 1000))
	b.ReportAllocs()
	for b.Loop() {
		s.sendFrame(now, &h)
	}
}

// FuzzReceive feeds arbitrary datagrams through parsing, latching, demux,
// DTMF, jitter buffer and re-chunking. Each input is split into datagrams by
// a leading length byte, so sequences of packets are explored too.
func FuzzReceive(f *testing.F) {
	var seed []byte
	for i, n := range []int{160, 80, 240} {
		p := marshalRTP(f, rtp.Header{PayloadType: PayloadPCMU, SequenceNumber: uint16(65534 + i), SSRC: 1}, make([]byte, n))
		seed = append(seed, byte(len(p)))
		seed = append(seed, p...)
	}
	f.Add(seed)
	ev := keyPress(0, 3)[0]
	p := marshalRTP(f, rtp.Header{PayloadType: 101, SequenceNumber: 2, SSRC: 1}, ev.payload[:])
	f.Add(append([]byte{byte(len(p))}, p...))
	f.Add([]byte{12, 0xB0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, _ := offline(Config{PayloadType: PayloadPCMU, DTMFType: 101})
		for len(data) > 0 {
			n := min(int(data[0]), len(data)-1)
			s.recv.handle(data[1:1+n], peerA)
			data = data[1+n:]
		}
		for range len(s.Digits()) {
			<-s.Digits()
		}
	})
}

// FuzzJitter pushes arbitrary sequence numbers and SSRCs.
func FuzzJitter(f *testing.F) {
	f.Add([]byte{0, 1, 0, 3, 0, 2, 255, 255, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		j := NewJitter(3)
		pcm := make([]int16, FrameSamples)
		for len(data) >= 2 {
			seq := binary.BigEndian.Uint16(data)
			j.Push(uint32(data[0]>>7), seq, pcm[:int(data[1])%FrameSamples])
			for {
				out, _, ok := j.Pop()
				if !ok {
					break
				}
				if len(out) > MaxPacketSamples {
					t.Fatal("oversized frame")
				}
			}
			data = data[2:]
		}
	})
}

func TestRTCPLatchAndSenderReport(t *testing.T) {
	ports, err := NewPorts(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	rtpConn, rtcpConn, err := ports.Listen(loopback)
	if err != nil {
		t.Fatal(err)
	}
	// No clock: the test receives and calls sendSR itself, from its own
	// goroutine.
	s := NewSession(rtpConn, rtcpConn, ports, nil, Config{PayloadType: PayloadPCMU})
	defer s.Close()
	s.Start()
	media, control := newPeer(t), newPeer(t)
	media.send(s.LocalAddr(), PayloadPCMU, 1, 0, 77, make([]byte, 160))
	rtcpAddr := netip.AddrPortFrom(s.LocalAddr().Addr(), s.LocalAddr().Port()+1)
	rr := []byte{0x80, 201, 0, 1, 0, 0, 0, 77} // empty receiver report
	var sh shard
	waitFor(t, func() bool {
		s.clockReceive(&sh.rx)
		return s.Stats().Latched == media.addr()
	})
	if _, err := control.conn.WriteToUDPAddrPort(rr, rtcpAddr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.rtcpRemote == control.addr()
	})
	s.sendSR(time.Now())
	control.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := control.conn.Read(control.buf)
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := rtcp.Unmarshal(control.buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	sr, ok := pkts[0].(*rtcp.SenderReport)
	if !ok || sr.SSRC != s.pkt.SSRC || sr.RTPTime != s.pkt.Timestamp {
		t.Fatalf("got %v", pkts[0])
	}
}

// waitFor polls cond, for state only observable by polling; the deadline
// only guards against a hung test.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}
