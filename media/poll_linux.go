//go:build linux

package media

import (
	"encoding/binary"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pollBatch is how many datagrams one recvmmsg may return. A stream sends
// one packet per 20 ms, so a tick finds one, or two after jitter.
const pollBatch = 2

// mmsghdr is struct mmsghdr from <sys/socket.h>: x/sys/unix has Msghdr but
// not this wrapper around it.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [unsafe.Sizeof(uintptr(0)) - 4]byte
}

// poller reads a session's sockets without blocking, from the clock tick.
// All of it belongs to the shard goroutine that ticks the session.
type poller struct {
	rtpFD, rtcpFD int
	msgs          [pollBatch]mmsghdr
	iov           [pollBatch]unix.Iovec
	names         [pollBatch]unix.RawSockaddrInet6
	bufs          [pollBatch][maxDatagram]byte
	name          unix.RawSockaddrInet6 // for RTCP's recvfrom
}

// startPolling takes the sockets' descriptors so that the clock tick can
// read them; false means reading needs goroutines.
func (s *Session) startPolling() bool {
	if s.rtpConn == nil {
		return false
	}
	p := &s.poller
	p.rtpFD, p.rtcpFD = -1, -1
	if !rawFD(s.rtpConn, &p.rtpFD) {
		return false
	}
	if s.rtcpConn != nil && !rawFD(s.rtcpConn, &p.rtcpFD) {
		return false
	}
	for i := range p.msgs {
		p.iov[i].Base = &p.bufs[i][0]
		p.iov[i].SetLen(maxDatagram)
		p.msgs[i].hdr.Iov = &p.iov[i]
		p.msgs[i].hdr.SetIovlen(1)
		p.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&p.names[i]))
	}
	s.polling = true
	return true
}

func rawFD(c syscall.Conn, fd *int) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	// The descriptor stays valid until the conn is closed, which Close
	// does only after the session has left the clock.
	return rc.Control(func(f uintptr) { *fd = int(f) }) == nil
}

// pollRTP hands every datagram waiting on the RTP socket to the receiver.
func (s *Session) pollRTP() {
	p := &s.poller
	for {
		for i := range p.msgs {
			p.msgs[i].hdr.Namelen = unix.SizeofSockaddrInet6
			p.msgs[i].len = 0
		}
		n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(p.rtpFD),
			uintptr(unsafe.Pointer(&p.msgs[0])), pollBatch, unix.MSG_DONTWAIT, 0, 0)
		if errno != 0 {
			return // EAGAIN: nothing more now
		}
		for i := range int(n) {
			m := &p.msgs[i]
			if m.hdr.Flags&unix.MSG_TRUNC != 0 {
				s.recv.invalid.Add(1)
				continue
			}
			s.recv.handle(p.bufs[i][:m.len], sockaddrPort(&p.names[i]))
		}
		if int(n) < pollBatch {
			return
		}
	}
}

// pollRTCP drains the RTCP socket (reports arrive every few seconds).
func (s *Session) pollRTCP() {
	p := &s.poller
	if p.rtcpFD < 0 {
		return
	}
	buf := p.bufs[0][:]
	for {
		nameLen := uint32(unix.SizeofSockaddrInet6)
		n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, uintptr(p.rtcpFD),
			uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), unix.MSG_DONTWAIT,
			uintptr(unsafe.Pointer(&p.name)), uintptr(unsafe.Pointer(&nameLen)))
		if errno != 0 {
			return
		}
		s.handleRTCP(buf[:n], sockaddrPort(&p.name))
	}
}

// sockaddrPort reads an IPv4 or IPv6 socket address without allocating.
func sockaddrPort(sa *unix.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case unix.AF_INET6:
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}
