package sipcall

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/switchboard-voice/switchboard/media"
)

// fakeUAS is a minimal server for one call at a time, on 127.0.0.1: it
// answers an INVITE with PCMU and telephone-event at 101, keeps every RTP
// packet the caller sends with its arrival time, and sends requests in the
// caller's dialog when the test says so.
type fakeUAS struct {
	t      *testing.T
	sip    *net.UDPConn
	rtp    *net.UDPConn
	msgs   chan sipFrom
	wg     sync.WaitGroup
	tag    string
	cseq   int
	invite *gosip.Request
	caller netip.AddrPort // where the caller's SIP comes from

	mu      sync.Mutex
	packets []rtpIn
}

type sipFrom struct {
	msg  gosip.Message
	from netip.AddrPort
}

type rtpIn struct {
	pkt rtp.Packet
	at  time.Time
}

func newFakeUAS(t *testing.T) *fakeUAS {
	t.Helper()
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	s, err := net.ListenUDP("udp", lo)
	if err != nil {
		t.Fatal(err)
	}
	r, err := net.ListenUDP("udp", lo)
	if err != nil {
		t.Fatal(err)
	}
	u := &fakeUAS{t: t, sip: s, rtp: r, msgs: make(chan sipFrom, 64), tag: "uas1", cseq: 1}
	u.wg.Add(2)
	go func() {
		defer u.wg.Done()
		buf := make([]byte, 65535)
		p := gosip.NewParser()
		for {
			n, from, err := s.ReadFromUDPAddrPort(buf)
			if err != nil {
				close(u.msgs)
				return
			}
			m, err := p.ParseSIP(buf[:n])
			if err != nil {
				t.Errorf("unparsable message from the caller: %v\n%s", err, buf[:n])
				continue
			}
			u.msgs <- sipFrom{m, from}
		}
	}()
	go func() {
		defer u.wg.Done()
		buf := make([]byte, 1500)
		for {
			n, err := r.Read(buf)
			if err != nil {
				return
			}
			var p rtp.Packet
			if err := p.Unmarshal(append([]byte(nil), buf[:n]...)); err != nil {
				t.Errorf("not rtp: %v", err)
				continue
			}
			u.mu.Lock()
			u.packets = append(u.packets, rtpIn{p, time.Now()})
			u.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		s.Close()
		r.Close()
		u.wg.Wait()
	})
	return u
}

func (u *fakeUAS) target() string {
	return "sip:ivr@" + u.sip.LocalAddr().String()
}

// next returns the next SIP message from the caller.
func (u *fakeUAS) next(d time.Duration) sipFrom {
	u.t.Helper()
	select {
	case m, ok := <-u.msgs:
		if !ok {
			u.t.Fatal("sip socket closed")
		}
		return m
	case <-time.After(d):
		u.t.Fatalf("no sip message from the caller within %v", d)
	}
	return sipFrom{}
}

// request waits for a request of the method, skipping others.
func (u *fakeUAS) request(method string, d time.Duration) *gosip.Request {
	u.t.Helper()
	deadline := time.Now().Add(d)
	for {
		m := u.next(time.Until(deadline))
		if req, ok := m.msg.(*gosip.Request); ok && req.Method.String() == method {
			u.caller = m.from
			return req
		}
	}
}

// response waits for a response to method.
func (u *fakeUAS) response(method string, d time.Duration) *gosip.Response {
	u.t.Helper()
	deadline := time.Now().Add(d)
	for {
		m := u.next(time.Until(deadline))
		if res, ok := m.msg.(*gosip.Response); ok && res.CSeq().MethodName.String() == method {
			return res
		}
	}
}

func (u *fakeUAS) send(msg string) {
	u.t.Helper()
	if _, err := u.sip.WriteToUDPAddrPort([]byte(msg), u.caller); err != nil {
		u.t.Fatal(err)
	}
}

func (u *fakeUAS) reply(req *gosip.Request, code int, reason, body string, extra ...string) {
	u.t.Helper()
	res := gosip.NewResponseFromRequest(req, code, reason, []byte(body))
	if code > 100 {
		res.To().Params.Add("tag", u.tag)
	}
	for _, h := range extra {
		k, v, _ := strings.Cut(h, ": ")
		res.AppendHeader(gosip.NewHeader(k, v))
	}
	u.send(res.String())
}

// answer takes the INVITE and answers it 100, 180, 200 with our SDP (with
// code other than 200: that final answer, and no SDP). It returns the
// INVITE.
func (u *fakeUAS) answer(code int, reason string) *gosip.Request {
	u.t.Helper()
	inv := u.request("INVITE", 5*time.Second)
	u.invite = inv
	u.reply(inv, 100, "Trying", "")
	u.reply(inv, 180, "Ringing", "")
	if code != 200 {
		u.reply(inv, code, reason, "")
		return inv
	}
	port := u.rtp.LocalAddr().(*net.UDPAddr).Port
	sdp := strings.Join([]string{"v=0", "o=uas 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
		fmt.Sprintf("m=audio %d RTP/AVP 0 101", port), "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000",
		"a=fmtp:101 0-16", "a=ptime:20", "a=sendrecv", ""}, "\r\n")
	u.reply(inv, 200, "OK", sdp, "Contact: <sip:ivr@"+u.sip.LocalAddr().String()+">", "Content-Type: application/sdp")
	return inv
}

// inDialog builds a request of ours in the caller's dialog.
func (u *fakeUAS) inDialog(method string, extra ...string) string {
	inv := u.invite
	u.cseq++
	contact := inv.Contact().Address.String()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, contact)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=z9hG4bKuas%d\r\n", u.sip.LocalAddr(), u.cseq)
	fmt.Fprintf(&b, "From: <sip:ivr@127.0.0.1>;tag=%s\r\n", u.tag)
	fmt.Fprintf(&b, "To: %s\r\n", inv.From().Value())
	fmt.Fprintf(&b, "Call-ID: %s\r\n", inv.CallID().Value())
	fmt.Fprintf(&b, "CSeq: %d %s\r\n", u.cseq, method)
	fmt.Fprintf(&b, "Contact: <sip:ivr@%s>\r\nMax-Forwards: 70\r\n", u.sip.LocalAddr())
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.String()
}

// rtpPackets returns the RTP packets received so far.
func (u *fakeUAS) rtpPackets() []rtpIn {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]rtpIn(nil), u.packets...)
}

// keys decodes the telephone-event packets received, as the server does.
func (u *fakeUAS) keys() string {
	var d media.DTMFDecoder
	var keys []byte
	for _, p := range u.rtpPackets() {
		if p.pkt.PayloadType != 101 {
			continue
		}
		if dg, ok := d.Decode(p.pkt.Timestamp, p.pkt.Payload); ok {
			keys = append(keys, dg.Key)
		}
	}
	return string(keys)
}

// waitKeys waits until the caller has sent n keys.
func (u *fakeUAS) waitKeys(n int, d time.Duration) string {
	u.t.Helper()
	deadline := time.Now().Add(d)
	for {
		k := u.keys()
		if len(k) >= n || time.Now().After(deadline) {
			return k
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sendAudio sends frames of µ-law to the caller's RTP address from the
// SDP offer, 20 ms apart: loud is a tone, else digital silence.
func (u *fakeUAS) sendAudio(to netip.AddrPort, pattern []bool) {
	p := rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 7, PayloadType: 0}}
	pcm := make([]int16, media.FrameSamples)
	payload := make([]byte, media.FrameSamples)
	start := time.Now()
	for i, loud := range pattern {
		time.Sleep(time.Until(start.Add(time.Duration(i) * media.FrameDuration)))
		for j := range pcm {
			pcm[j] = 0
			if loud {
				pcm[j] = int16(8000 * ((j/10)%2*2 - 1))
			}
		}
		media.EncodeULaw(payload, pcm)
		p.Payload = payload
		p.Marker = i == 0
		p.SequenceNumber++
		p.Timestamp += media.FrameSamples
		b, _ := p.Marshal()
		_, _ = u.rtp.WriteToUDPAddrPort(b, to)
	}
}
