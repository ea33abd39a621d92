package media

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
)

var loopback = netip.MustParseAddr("127.0.0.1")

func TestNewPortsValidates(t *testing.T) {
	for _, r := range [][2]int{{1000, 2000}, {10001, 20000}, {20000, 10000}, {10000, 10000}, {60000, 70000}} {
		if _, err := NewPorts(r[0], r[1]); err == nil {
			t.Errorf("NewPorts(%d, %d) accepted", r[0], r[1])
		}
	}
	p, err := NewPorts(0, 0)
	if err != nil || p.min != DefaultPortMin || p.max != DefaultPortMax {
		t.Fatalf("NewPorts(0, 0) = %+v, %v", p, err)
	}
}

func TestPortsListenPairs(t *testing.T) {
	p := freeRange(t, 4)
	seen := map[int]bool{}
	var conns []io.Closer
	for range 4 {
		rtp, rtcp, err := p.Listen(loopback)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, rtp, rtcp)
		rp := rtp.LocalAddr().(*net.UDPAddr).Port
		cp := rtcp.LocalAddr().(*net.UDPAddr).Port
		if rp%2 != 0 || cp != rp+1 || rp < p.min || cp > p.max {
			t.Fatalf("got pair %d/%d from %d-%d", rp, cp, p.min, p.max)
		}
		if seen[rp] {
			t.Fatalf("port %d handed out twice", rp)
		}
		seen[rp] = true
	}
	if p.InUse() != 4 {
		t.Fatalf("InUse = %d, want 4", p.InUse())
	}
	if _, _, err := p.Listen(loopback); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("full range: err = %v, want ErrNoPorts", err)
	}
	for _, c := range conns {
		c.Close()
	}
	for rp := range seen {
		p.Release(rp)
	}
	if p.InUse() != 0 {
		t.Fatalf("InUse = %d after release", p.InUse())
	}
}

func TestPortsSkipsPortsHeldElsewhere(t *testing.T) {
	p := freeRange(t, 2)
	// Another "process" holds the first pair's RTCP port.
	other, err := net.ListenUDP("udp", udpAddr(loopback, p.min+1))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	rtp, rtcp, err := p.Listen(loopback)
	if err != nil {
		t.Fatal(err)
	}
	defer rtp.Close()
	defer rtcp.Close()
	if got := rtp.LocalAddr().(*net.UDPAddr).Port; got != p.min+2 {
		t.Fatalf("got port %d, want %d", got, p.min+2)
	}
	if p.InUse() != 1 {
		t.Fatalf("InUse = %d, want 1 (failed pair must be released)", p.InUse())
	}
}

// testRTPConn is an RTP socket on a free loopback port, closed at cleanup.
func testRTPConn(t testing.TB) *RTPConn {
	t.Helper()
	c, err := listenRTP(loopback, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// freeRange finds a range of n pairs that nothing on this machine holds
// right now, so tests do not depend on fixed ports.
func freeRange(t *testing.T, pairs int) *Ports {
	t.Helper()
	for base := 40000; base < 60000; base += 2 * pairs {
		ok := true
		for port := base; port < base+2*pairs; port++ {
			c, err := net.ListenUDP("udp", udpAddr(loopback, port))
			if err != nil {
				ok = false
				break
			}
			c.Close()
		}
		if ok {
			p, err := NewPorts(base, base+2*pairs-1)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	t.Fatal("no free port range")
	return nil
}
