//go:build !386

package media

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"
)

// readOne reads from c until a datagram arrives; the deadline only guards
// against a hung test.
func readOne(t *testing.T, c *RTPConn, rx *rxBuf) ([]byte, netip.AddrPort) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if b, from, ok := c.read(rx); ok {
			return b, from
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing received")
		}
		time.Sleep(time.Millisecond)
	}
}

func haveIPv6(t *testing.T) bool {
	t.Helper()
	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// TestRTPConnFamilies binds as net.ListenUDP would and checks both ways
// with peers on IPv4 and, where the kernel has it, IPv6 loopback: the
// source is unmapped as ReadFromUDPAddrPort gives it, and replies leave
// from the bound port.
func TestRTPConnFamilies(t *testing.T) {
	v6 := haveIPv6(t)
	v4peer, v6peer := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")
	cases := []struct {
		bind      netip.Addr
		wantLocal netip.Addr // as LocalAddr reports it, like net.UDPConn's
		peers     []netip.Addr
		needV6    bool
	}{
		{netip.MustParseAddr("127.0.0.1"), v4peer, []netip.Addr{v4peer}, false},
		{netip.Addr{}, netip.IPv6Unspecified(), []netip.Addr{v4peer, v6peer}, true},
		{netip.IPv4Unspecified(), netip.IPv6Unspecified(), []netip.Addr{v4peer, v6peer}, true},
		{netip.IPv6Unspecified(), netip.IPv6Unspecified(), []netip.Addr{v4peer, v6peer}, true},
		{v6peer, v6peer, []netip.Addr{v6peer}, true},
	}
	var rx rxBuf
	for _, tc := range cases {
		if tc.needV6 && !v6 {
			t.Logf("bind %v: no IPv6 here, skipped", tc.bind)
			continue
		}
		c, err := listenRTP(tc.bind, 0)
		if err != nil {
			t.Fatalf("bind %v: %v", tc.bind, err)
		}
		la := c.LocalAddr().(*net.UDPAddr).AddrPort()
		if la.Addr() != tc.wantLocal || la.Port() == 0 || la != c.local {
			t.Fatalf("bind %v: LocalAddr %v (local %v), want %v:port", tc.bind, la, c.local, tc.wantLocal)
		}
		for _, pa := range tc.peers {
			p, err := net.ListenUDP("udp", udpAddr(pa, 0))
			if err != nil {
				t.Fatal(err)
			}
			to := netip.AddrPortFrom(pa, la.Port())
			msg := []byte("to " + pa.String())
			if _, err := p.WriteToUDPAddrPort(msg, to); err != nil {
				t.Fatal(err)
			}
			b, from := readOne(t, c, &rx)
			if !bytes.Equal(b, msg) || from != p.LocalAddr().(*net.UDPAddr).AddrPort() {
				t.Fatalf("bind %v: got %q from %v, want %q from %v", tc.bind, b, from, msg, p.LocalAddr())
			}
			if err := c.writeTo([]byte("back"), from); err != nil {
				t.Fatalf("bind %v: send to %v: %v", tc.bind, from, err)
			}
			p.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 16)
			n, src, err := p.ReadFromUDPAddrPort(buf)
			if err != nil || string(buf[:n]) != "back" || src.Port() != la.Port() {
				t.Fatalf("bind %v: peer got %q from %v, %v", tc.bind, buf[:n], src, err)
			}
			p.Close()
		}
		if b, from, ok := c.read(&rx); ok {
			t.Fatalf("bind %v: stray datagram %q from %v", tc.bind, b, from)
		}
		c.Close()
	}
}

func TestRTPConnIPv4RefusesIPv6(t *testing.T) {
	c := testRTPConn(t)
	if err := c.writeTo([]byte{1}, netip.MustParseAddrPort("[::1]:9")); err == nil {
		t.Fatal("an IPv4 socket sent to an IPv6 address")
	}
	// A mapped IPv4 address is an IPv4 address.
	p := newPeer(t)
	mapped := netip.AddrPortFrom(netip.AddrFrom16(p.addr().Addr().As16()), p.addr().Port())
	if err := c.writeTo([]byte{1}, mapped); err != nil {
		t.Fatalf("send to %v: %v", mapped, err)
	}
}

// TestRTPConnClose: the port is free again once Close returns, a second
// Close does nothing, and a port held elsewhere is refused (no
// SO_REUSEADDR), as with net.ListenUDP.
func TestRTPConnClose(t *testing.T) {
	c, err := listenRTP(loopback, 0)
	if err != nil {
		t.Fatal(err)
	}
	port := int(c.local.Port())
	if _, err := listenRTP(loopback, port); err == nil {
		t.Fatal("bound a port that is in use")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	again, err := net.ListenUDP("udp", udpAddr(loopback, port))
	if err != nil {
		t.Fatalf("port %d not free after Close: %v", port, err)
	}
	again.Close()
}

// TestReceiveBounded: one tick takes at most maxReads datagrams from a
// flooded socket; the rest waits for the next tick.
func TestReceiveBounded(t *testing.T) {
	s := NewSession(testRTPConn(t), nil, nil, nil, Config{PayloadType: PayloadPCMU})
	defer s.Close()
	far := newPeer(t)
	for i := range maxReads + 10 {
		far.send(s.LocalAddr(), PayloadPCMU, uint16(i), uint32(i*FrameSamples), 1, make([]byte, FrameSamples))
	}
	var sh shard
	var ticks []uint64
	waitFor(t, func() bool {
		before := s.Stats().PacketsReceived
		s.clockReceive(&sh.rx)
		got := s.Stats().PacketsReceived
		if got > before {
			ticks = append(ticks, got-before)
		}
		return got == maxReads+10
	})
	for _, n := range ticks {
		if n > maxReads {
			t.Fatalf("one tick received %d, limit %d (ticks: %v)", n, maxReads, ticks)
		}
	}
}

// TestReceiveReadsOnePerTickAndDrainsEveryFew: a peer sending one packet
// per tick costs one read per tick, not a second, empty one; every
// drainEvery ticks the socket is read until empty, and after a drain that
// found a backlog the next tick drains too.
func TestReceiveReadsOnePerTickAndDrainsEveryFew(t *testing.T) {
	s := NewSession(testRTPConn(t), nil, nil, nil, Config{PayloadType: PayloadPCMU})
	defer s.Close()
	far := newPeer(t)
	const sent = 10
	for i := range sent {
		far.send(s.LocalAddr(), PayloadPCMU, uint16(i), uint32(i*FrameSamples), 1, make([]byte, FrameSamples))
	}
	var sh shard
	type tick struct {
		n       uint64
		drain   bool
		backlog bool
	}
	var ticks []tick
	waitFor(t, func() bool {
		drain := s.rxBacklog || (s.rxTicks+1)%drainEvery == 0
		before := s.Stats().PacketsReceived
		s.clockReceive(&sh.rx)
		ticks = append(ticks, tick{s.Stats().PacketsReceived - before, drain, s.rxBacklog})
		return s.Stats().PacketsReceived == sent
	})
	drained := false
	for i, tk := range ticks {
		if !tk.drain && tk.n > 1 {
			t.Fatalf("tick %d read %d datagrams without draining (ticks: %+v)", i+1, tk.n, ticks)
		}
		if tk.drain && tk.n > 1 {
			drained = true
			if !tk.backlog {
				t.Errorf("tick %d drained %d datagrams but the next will not drain (ticks: %+v)", i+1, tk.n, ticks)
			}
		}
	}
	if !drained {
		t.Errorf("no tick drained the backlog (ticks: %+v)", ticks)
	}
}

// TestRTPConnZones: IPv6 zones map to interface indexes and back as the
// net package maps them, by name or by number.
func TestRTPConnZones(t *testing.T) {
	lo, err := net.InterfaceByIndex(1)
	if err != nil {
		t.Skip("no interface 1:", err)
	}
	var c RTPConn
	if got := c.zoneIndex(lo.Name); got != 1 {
		t.Fatalf("zoneIndex(%q) = %d, want 1", lo.Name, got)
	}
	if got := c.zoneIndex("1"); got != 1 {
		t.Fatalf(`zoneIndex("1") = %d, want 1`, got)
	}
	if got := c.zoneName(1); got != lo.Name {
		t.Fatalf("zoneName(1) = %q, want %q", got, lo.Name)
	}
	if got := c.zoneIndex(""); got != 0 {
		t.Fatalf(`zoneIndex("") = %d`, got)
	}
}
