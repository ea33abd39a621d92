//go:build !linux || 386

package media

import (
	"errors"
	"net"
	"net/netip"
	"sync"
)

// RTPConn is a call's RTP socket. Elsewhere than on Linux (which drains it
// from the clock, see rtpconn_linux.go), and on 32-bit x86 Linux, whose
// socket calls go through socketcall, it is a net.UDPConn read by a
// goroutine of its own.
type RTPConn struct {
	conn  *net.UDPConn
	local netip.AddrPort
}

func listenRTP(ip netip.Addr, port int) (*RTPConn, error) {
	conn, err := net.ListenUDP("udp", udpAddr(ip, port))
	if err != nil {
		return nil, err
	}
	return &RTPConn{conn: conn, local: conn.LocalAddr().(*net.UDPAddr).AddrPort()}, nil
}

// LocalAddr is the address the socket is bound to, a *net.UDPAddr.
func (c *RTPConn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// Close releases the socket, and with it the port. Later calls do nothing.
func (c *RTPConn) Close() error {
	if err := c.conn.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// clockReads is false: each session's goroutine receives (see
// rtpconn_linux.go).
const clockReads = false

// startReader starts the goroutine that hands each datagram to r; Close
// ends it, and wg waits for it.
func (c *RTPConn) startReader(r *receiver, wg *sync.WaitGroup) {
	wg.Go(func() { readUDP(c.conn, r.handle) })
}

func (c *RTPConn) writeTo(b []byte, dst netip.AddrPort) error {
	_, err := c.conn.WriteToUDPAddrPort(b, dst)
	return err
}

// The clock has nothing to read here: startReader's goroutine receives.
type rxBuf struct{}

func (c *RTPConn) read(*rxBuf) ([]byte, netip.AddrPort, bool) { return nil, netip.AddrPort{}, false }
