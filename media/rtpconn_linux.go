//go:build !386

package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"unsafe"
)

// RTPConn is a call's RTP socket. It is not a net.Conn on purpose: a socket
// in Go's netpoller costs, for every packet received, an epoll wake-up and
// a goroutine switch on top of the reads. This one is never registered
// there. Its session reads it on each clock tick, on the clock's
// goroutine, with non-blocking recvfrom (one datagram a tick, and until
// the socket is empty every few ticks: see Session.clockReceive), and
// sends on it with sendto; receiving is up to one tick (20 ms) later than
// it could be. (One recvmmsg per tick was tried instead of the reads: it
// costs more, as the kernel's own second try that finds nothing costs
// more than a recvfrom.)
//
// Close must not be called while the socket is in use on another
// goroutine; the session leaves the clock before it closes it.
type RTPConn struct {
	fd     int // -1 once closed
	family int // AF_INET, or AF_INET6, which also carries IPv4 (mapped)
	local  netip.AddrPort

	// The last destination sent to, as sendto takes it (dstLen 0 when
	// none is set).
	dst    netip.AddrPort
	dstRaw syscall.RawSockaddrInet6 // large enough for either family
	dstLen uint32
	// The last IPv6 zone sent to and received from, with their interface
	// indexes: a link-local peer costs no interface lookup per packet.
	txZone   string
	txZoneID uint32
	rxZone   string
	rxZoneID uint32
}

var errAddrFamily = errors.New("media: ipv6 destination on an ipv4 rtp socket")

// listenRTP binds a non-blocking UDP socket as net.ListenUDP("udp", …)
// would: all interfaces (the zero Addr, 0.0.0.0 or ::) means a dual-stack
// IPv6 socket where the kernel has IPv6, an IPv4 address an IPv4 socket,
// and no SO_REUSEADDR, so a port another socket holds is refused.
func listenRTP(ip netip.Addr, port int) (*RTPConn, error) {
	ip = ip.Unmap()
	wildcard := !ip.IsValid() || ip.IsUnspecified()
	family := syscall.AF_INET6
	if ip.Is4() && !wildcard {
		family = syscall.AF_INET
	}
	fd, err := syscall.Socket(family, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_UDP)
	if errors.Is(err, syscall.EAFNOSUPPORT) && wildcard && !ip.Is6() {
		family = syscall.AF_INET
		fd, err = syscall.Socket(family, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_UDP)
	}
	if err != nil {
		return nil, fmt.Errorf("media: open rtp socket: %w", err)
	}
	c := &RTPConn{fd: fd, family: family}
	var sa syscall.Sockaddr
	if family == syscall.AF_INET {
		sa4 := &syscall.SockaddrInet4{Port: port}
		if !wildcard {
			sa4.Addr = ip.As4()
		}
		sa = sa4
	} else {
		err = syscall.SetsockoptInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, 0)
		sa6 := &syscall.SockaddrInet6{Port: port}
		if !wildcard {
			sa6.Addr, sa6.ZoneId = ip.As16(), c.zoneIndex(ip.Zone())
		}
		sa = sa6
	}
	if err == nil {
		err = syscall.Bind(fd, sa)
	}
	if err == nil {
		sa, err = syscall.Getsockname(fd)
	}
	if err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("media: bind rtp port %d on %v: %w", port, ip, err)
	}
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		c.local = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *syscall.SockaddrInet6:
		a := netip.AddrFrom16(sa.Addr)
		if sa.ZoneId != 0 {
			a = a.WithZone(c.zoneName(sa.ZoneId))
		}
		c.local = netip.AddrPortFrom(a, uint16(sa.Port))
	}
	return c, nil
}

// LocalAddr is the address the socket is bound to, a *net.UDPAddr.
func (c *RTPConn) LocalAddr() net.Addr { return net.UDPAddrFromAddrPort(c.local) }

// Close releases the socket, and with it the port. Later calls do nothing.
func (c *RTPConn) Close() error {
	if c.fd < 0 {
		return nil
	}
	fd := c.fd
	c.fd = -1
	if err := syscall.Close(fd); err != nil {
		return fmt.Errorf("media: close rtp socket: %w", err)
	}
	return nil
}

// clockReads says who receives: the clock's goroutines here, a goroutine
// per session where startReader starts one.
const clockReads = true

// startReader does nothing: the clock drains the socket.
func (c *RTPConn) startReader(*receiver, *sync.WaitGroup) {}

// writeTo sends one datagram without blocking. A full socket buffer fails
// the send (EAGAIN) rather than holding up the clock's other calls.
//
// The socket is non-blocking, so sendto returns at once and is made as a
// raw system call, without telling the scheduler; with the destination's
// sockaddr built once per new destination rather than per packet, a send
// went from 3320 to 3040 ns (BenchmarkSendPacketWrite).
func (c *RTPConn) writeTo(b []byte, dst netip.AddrPort) error {
	if dst != c.dst || c.dstLen == 0 {
		if err := c.setDst(dst); err != nil {
			return err
		}
	}
	if len(b) == 0 {
		return nil
	}
	for {
		_, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(c.fd),
			uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0,
			uintptr(unsafe.Pointer(&c.dstRaw)), uintptr(c.dstLen))
		switch errno {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		}
		return errno
	}
}

// setDst fills dstRaw with dst in the socket's family.
func (c *RTPConn) setDst(dst netip.AddrPort) error {
	a := dst.Addr()
	c.dstRaw = syscall.RawSockaddrInet6{}
	port := (*[2]byte)(unsafe.Pointer(&c.dstRaw.Port)) // network byte order
	port[0], port[1] = byte(dst.Port()>>8), byte(dst.Port())
	if c.family == syscall.AF_INET {
		if a = a.Unmap(); !a.Is4() {
			c.dstLen = 0
			return errAddrFamily
		}
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&c.dstRaw))
		sa.Family = syscall.AF_INET
		sa.Addr = a.As4()
		c.dstLen = syscall.SizeofSockaddrInet4
	} else {
		// As16 maps an IPv4 address into ::ffff:0:0/96.
		c.dstRaw.Family = syscall.AF_INET6
		c.dstRaw.Addr = a.As16()
		c.dstRaw.Scope_id = c.zoneIndex(a.Zone())
		c.dstLen = syscall.SizeofSockaddrInet6
	}
	c.dst = dst
	return nil
}

// rxBuf is where a read writes. Each clock shard has one and lends it to
// its sessions in turn, so the buffer costs nothing per call.
type rxBuf struct {
	buf     [maxDatagram]byte
	name    syscall.RawSockaddrInet6 // large enough for either family
	namelen uint32
}

// read receives one waiting datagram into rx without blocking; ok is false
// when none is waiting. A datagram longer than maxDatagram is cut short,
// as a read into a buffer of that size would cut it. The source is
// unmapped, as net.UDPConn.ReadFromUDPAddrPort would give it. Like sendto,
// recvfrom is a raw system call: with MSG_DONTWAIT it never sleeps.
func (c *RTPConn) read(rx *rxBuf) (b []byte, from netip.AddrPort, ok bool) {
	var n uintptr
	for {
		rx.namelen = syscall.SizeofSockaddrInet6
		var errno syscall.Errno
		n, _, errno = syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(c.fd),
			uintptr(unsafe.Pointer(&rx.buf[0])), maxDatagram, syscall.MSG_DONTWAIT,
			uintptr(unsafe.Pointer(&rx.name)), uintptr(unsafe.Pointer(&rx.namelen)))
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			// EAGAIN: nothing waiting. An unconnected UDP socket without
			// IP_RECVERR has no other error to report that a caller
			// could act on.
			return nil, netip.AddrPort{}, false
		}
		break
	}
	name := &rx.name
	p := (*[2]byte)(unsafe.Pointer(&name.Port)) // network byte order, at the same offset for both families
	port := uint16(p[0])<<8 | uint16(p[1])
	var a netip.Addr
	switch name.Family {
	case syscall.AF_INET:
		a = netip.AddrFrom4((*syscall.RawSockaddrInet4)(unsafe.Pointer(name)).Addr)
	case syscall.AF_INET6:
		a = netip.AddrFrom16(name.Addr).Unmap()
		if name.Scope_id != 0 && a.Is6() {
			a = a.WithZone(c.zoneName(name.Scope_id))
		}
	}
	return rx.buf[:n], netip.AddrPortFrom(a, port), true
}

// zoneIndex is the interface index of an IPv6 zone, as the net package
// resolves it: a name or a number; 0 when there is none or it is unknown.
func (c *RTPConn) zoneIndex(zone string) uint32 {
	if zone == "" {
		return 0
	}
	if zone != c.txZone {
		id := 0
		if ifi, err := net.InterfaceByName(zone); err == nil {
			id = ifi.Index
		} else if n, err := strconv.Atoi(zone); err == nil && n > 0 {
			id = n
		}
		c.txZone, c.txZoneID = zone, uint32(id)
	}
	return c.txZoneID
}

// zoneName is the zone of an interface index, as the net package names
// it: the interface's name, or the index in decimal when it has none.
func (c *RTPConn) zoneName(id uint32) string {
	if id != c.rxZoneID || c.rxZone == "" {
		name := strconv.FormatUint(uint64(id), 10)
		if ifi, err := net.InterfaceByIndex(int(id)); err == nil {
			name = ifi.Name
		}
		c.rxZone, c.rxZoneID = name, id
	}
	return c.rxZone
}
