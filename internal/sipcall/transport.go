package sipcall

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"

	gosip "github.com/emiago/sipgo/sip"
)

// inbound is one SIP message read from the transport, with where it came
// from (responses to requests from the server go back there).
type inbound struct {
	msg  gosip.Message
	from netip.AddrPort
}

// transport carries the call's SIP messages: one UDP socket, or one TCP
// connection, to the server. A reader goroutine, owned by the transport
// and stopped by Close, hands what it parses to In.
type transport struct {
	proto  string // "UDP" or "TCP"
	local  netip.AddrPort
	remote netip.AddrPort
	udp    *net.UDPConn
	tcp    net.Conn
	in     chan inbound
	errc   chan error // the reader's fatal error, once
	once   sync.Once
	wg     sync.WaitGroup
}

// dialTransport opens the call's SIP transport to remote, from local's
// address (port chosen by the system).
func dialTransport(proto string, local netip.Addr, remote netip.AddrPort) (*transport, error) {
	t := &transport{proto: strings.ToUpper(proto), remote: remote, in: make(chan inbound, 64), errc: make(chan error, 1)}
	switch t.proto {
	case "UDP":
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(local, 0)))
		if err != nil {
			return nil, fmt.Errorf("sipcall: sip socket: %w", err)
		}
		t.udp = c
		t.local = c.LocalAddr().(*net.UDPAddr).AddrPort()
	case "TCP":
		d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(local, 0))}
		c, err := d.Dial("tcp", remote.String())
		if err != nil {
			return nil, fmt.Errorf("sipcall: connect to %s: %w", remote, err)
		}
		t.tcp = c
		t.local = c.LocalAddr().(*net.TCPAddr).AddrPort()
	default:
		return nil, fmt.Errorf("sipcall: transport %q: want udp or tcp", proto)
	}
	t.wg.Add(1)
	go t.read()
	return t, nil
}

// In delivers the messages read, in order.
func (t *transport) In() <-chan inbound { return t.in }

// Err delivers the reader's error when the transport fails (a TCP
// connection closed by the server, an unreadable stream).
func (t *transport) Err() <-chan error { return t.errc }

// send writes one message; to is where a UDP message goes (a zero value:
// the server).
func (t *transport) send(msg string, to netip.AddrPort) error {
	var err error
	if t.udp != nil {
		if !to.IsValid() {
			to = t.remote
		}
		_, err = t.udp.WriteToUDPAddrPort([]byte(msg), to)
	} else {
		_, err = t.tcp.Write([]byte(msg))
	}
	if err != nil {
		return fmt.Errorf("sipcall: send: %w", err)
	}
	return nil
}

func (t *transport) read() {
	defer t.wg.Done()
	fail := func(err error) {
		select {
		case t.errc <- err:
		default:
		}
	}
	buf := make([]byte, 65535)
	parser := gosip.NewParser()
	if t.udp != nil {
		for {
			n, from, err := t.udp.ReadFromUDPAddrPort(buf)
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					fail(err)
				}
				return
			}
			if n < 4 || buf[0] == '\r' || buf[0] == '\n' || buf[0] == 0 {
				continue // keep-alive
			}
			m, err := parser.ParseSIP(buf[:n])
			if err != nil {
				continue // not for us to repair; the sender retransmits
			}
			t.in <- inbound{msg: m, from: from}
		}
	}
	stream := parser.NewSIPStream()
	for {
		n, err := t.tcp.Read(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				fail(fmt.Errorf("sipcall: tcp: %w", err))
			}
			return
		}
		var msgs []gosip.Message
		err = stream.ParseSIPStream(buf[:n], func(m gosip.Message) { msgs = append(msgs, m) })
		if err != nil && !errors.Is(err, gosip.ErrParseSipPartial) {
			fail(fmt.Errorf("sipcall: tcp: %w", err))
			return
		}
		for _, m := range msgs {
			t.in <- inbound{msg: m, from: t.remote}
		}
	}
}

// Close stops the reader and waits for it. The reader may be blocked
// handing a message over: Close drains In meanwhile.
func (t *transport) Close() {
	t.once.Do(func() {
		if t.udp != nil {
			t.udp.Close()
		} else {
			t.tcp.Close()
		}
		done := make(chan struct{})
		go func() { t.wg.Wait(); close(done) }()
		for {
			select {
			case <-t.in:
			case <-done:
				return
			}
		}
	})
}
