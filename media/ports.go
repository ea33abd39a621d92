package media

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
)

// Default RTP port range, used when NewPorts is given 0, 0.
const (
	DefaultPortMin = 10000
	DefaultPortMax = 20000
)

// ErrNoPorts is returned by Ports.Listen when every pair in the range is in
// use, by this process or another.
var ErrNoPorts = errors.New("media: no free rtp port pair")

// Ports hands out RTP/RTCP port pairs from a range. It remembers the pairs
// this process holds so that two calls never get the same one, even in the
// window between a Release and the kernel freeing the socket.
type Ports struct {
	min, max int

	mu   sync.Mutex
	used map[int]struct{} // RTP port of every pair handed out
}

// NewPorts returns an allocator over [min, max]. An RTP port is even and its
// RTCP port is the odd one above it, so min must be even and the range must
// hold at least one pair; both ends must be in 1024..65535. NewPorts(0, 0)
// uses DefaultPortMin..DefaultPortMax.
func NewPorts(min, max int) (*Ports, error) {
	if min == 0 && max == 0 {
		min, max = DefaultPortMin, DefaultPortMax
	}
	switch {
	case min < 1024 || max > 65535:
		return nil, fmt.Errorf("media: rtp port range %d-%d outside 1024-65535", min, max)
	case min%2 != 0:
		return nil, fmt.Errorf("media: rtp port range starts at odd port %d", min)
	case min >= max:
		return nil, fmt.Errorf("media: rtp port range %d-%d is empty", min, max)
	}
	return &Ports{min: min, max: max, used: make(map[int]struct{})}, nil
}

// Listen binds a free even RTP port and the RTCP port above it on ip (the
// zero Addr means all interfaces). It starts at a random pair and walks the
// range from there, so ports are hard to guess and reuse of a port that just
// ended a call is unlikely; pairs another process holds are skipped.
func (p *Ports) Listen(ip netip.Addr) (rtp *RTPConn, rtcp *net.UDPConn, err error) {
	pairs := (p.max - p.min + 1) / 2
	start := rand.IntN(pairs)
	for i := range pairs {
		port := p.min + 2*((start+i)%pairs)
		if !p.reserve(port) {
			continue
		}
		rtp, err = listenRTP(ip, port)
		if err != nil {
			p.Release(port)
			continue
		}
		rtcp, err = net.ListenUDP("udp", udpAddr(ip, port+1))
		if err != nil {
			rtp.Close()
			p.Release(port)
			continue
		}
		return rtp, rtcp, nil
	}
	return nil, nil, fmt.Errorf("%w in %d-%d on %v", ErrNoPorts, p.min, p.max, ip)
}

func udpAddr(ip netip.Addr, port int) *net.UDPAddr {
	return &net.UDPAddr{IP: ip.AsSlice(), Port: port, Zone: ip.Zone()}
}

func (p *Ports) reserve(port int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.used[port]; ok {
		return false
	}
	p.used[port] = struct{}{}
	return true
}

// Release returns the pair whose RTP port is rtpPort to the pool. The
// sockets must already be closed; Session.Close does both.
func (p *Ports) Release(rtpPort int) {
	p.mu.Lock()
	delete(p.used, rtpPort)
	p.mu.Unlock()
}

// InUse reports how many pairs are handed out, so tests can check that
// every call gave its ports back.
func (p *Ports) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.used)
}
