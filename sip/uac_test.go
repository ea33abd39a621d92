package sip

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/ivr"
	"github.com/switchboard-voice/switchboard/media"
)

func TestMain(m *testing.M) {
	// Short SIP timers keep retransmission and timeout tests quick; the
	// behaviour under test is the same at any T1.
	gosip.SetTimers(20*time.Millisecond, 160*time.Millisecond, 200*time.Millisecond)
	os.Exit(m.Run())
}

// testServer runs a Server on loopback with ephemeral listeners.
type testServer struct {
	*Server
	udp, tcp netip.AddrPort
	ports    *media.Ports
	calls    chan *Call // every call the handler got
	hmu      sync.Mutex
	handler  func(ctx context.Context, c *Call)
}

// setHandler replaces what every new call runs.
func (ts *testServer) setHandler(h func(ctx context.Context, c *Call)) {
	ts.hmu.Lock()
	defer ts.hmu.Unlock()
	ts.handler = h
}

func newTestServer(t *testing.T, tune func(*Options)) *testServer {
	t.Helper()
	base := 20000 + 2*rand.IntN(10000)
	ports, err := media.NewPorts(base, base+400)
	if err != nil {
		t.Fatal(err)
	}
	clock := media.NewClock()
	ctx, cancel := context.WithCancel(context.Background())
	clockDone := make(chan struct{})
	go func() { defer close(clockDone); clock.Run(ctx) }()
	ts := &testServer{ports: ports, calls: make(chan *Call, 16)}
	ts.handler = func(ctx context.Context, c *Call) { <-ctx.Done() }
	opts := Options{
		Listen: []Listener{
			{Transport: "udp", Addr: netip.MustParseAddrPort("127.0.0.1:0")},
			{Transport: "tcp", Addr: netip.MustParseAddrPort("127.0.0.1:0")},
		},
		MediaBind: netip.MustParseAddr("127.0.0.1"),
		Ports:     ports,
		Clock:     clock,
		Logger:    testLogger(t),
		Route: func(info ivr.Info) (Handler, bool) {
			if info.Called == "nobody" {
				return nil, false
			}
			return func(ctx context.Context, c *Call) {
				ts.calls <- c
				ts.hmu.Lock()
				h := ts.handler
				ts.hmu.Unlock()
				h(ctx, c)
			}, true
		},
	}
	if tune != nil {
		tune(&opts)
	}
	srv, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ts.Server = srv
	for _, l := range srv.Addrs() {
		if l.Transport == "udp" {
			ts.udp = l.Addr
		} else {
			ts.tcp = l.Addr
		}
	}
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-clockDone
		if n := ports.InUse(); n != 0 {
			t.Errorf("%d rtp ports still in use after close", n)
		}
	})
	return ts
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// uac is a scripted SIP caller speaking raw SIP over UDP or TCP.
type uac struct {
	t       *testing.T
	conn    net.Conn
	tcp     bool
	local   netip.AddrPort
	parser  *gosip.Parser
	callID  string
	fromTag string
	toTag   string
	cseq    int
	rtp     *net.UDPConn
	stream  *gosip.ParserStream
	buf     []byte
	pending []gosip.Message
}

func newUAC(t *testing.T, server netip.AddrPort, tcp bool) *uac {
	t.Helper()
	var conn net.Conn
	var err error
	if tcp {
		conn, err = net.Dial("tcp", server.String())
	} else {
		conn, err = net.Dial("udp", server.String())
	}
	if err != nil {
		t.Fatal(err)
	}
	rtp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	u := &uac{
		t: t, conn: conn, tcp: tcp, parser: gosip.NewParser(),
		local:   netip.MustParseAddrPort(conn.LocalAddr().String()),
		callID:  fmt.Sprintf("%x@test", rand.Uint64()),
		fromTag: fmt.Sprintf("%x", rand.Uint32()),
		cseq:    1,
		rtp:     rtp,
		buf:     make([]byte, 65536),
	}
	t.Cleanup(func() { conn.Close(); rtp.Close() })
	return u
}

func (u *uac) transport() string {
	if u.tcp {
		return "TCP"
	}
	return "UDP"
}

func (u *uac) rtpPort() int { return u.rtp.LocalAddr().(*net.UDPAddr).Port }

// sdp is an offer like a softphone's, with our RTP port.
func (u *uac) sdp(direction string, port int) string {
	return strings.Join([]string{
		"v=0",
		"o=caller 1 1 IN IP4 127.0.0.1",
		"s=-",
		"c=IN IP4 127.0.0.1",
		"t=0 0",
		fmt.Sprintf("m=audio %d RTP/AVP 0 8 101", port),
		"a=rtpmap:0 PCMU/8000",
		"a=rtpmap:8 PCMA/8000",
		"a=rtpmap:101 telephone-event/8000",
		"a=fmtp:101 0-16",
		"a=ptime:20",
		"a=" + direction,
		"",
	}, "\r\n")
}

// request builds a request in this caller's dialog.
func (u *uac) request(method, user, body string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s sip:%s@127.0.0.1 SIP/2.0\r\n", method, user)
	fmt.Fprintf(&b, "Via: SIP/2.0/%s %s;branch=z9hG4bK%x;rport\r\n", u.transport(), u.local, rand.Uint64())
	fmt.Fprintf(&b, "From: <sip:caller@127.0.0.1>;tag=%s\r\n", u.fromTag)
	if u.toTag != "" {
		fmt.Fprintf(&b, "To: <sip:%s@127.0.0.1>;tag=%s\r\n", user, u.toTag)
	} else {
		fmt.Fprintf(&b, "To: <sip:%s@127.0.0.1>\r\n", user)
	}
	fmt.Fprintf(&b, "Call-ID: %s\r\n", u.callID)
	fmt.Fprintf(&b, "CSeq: %d %s\r\n", u.cseq, method)
	fmt.Fprintf(&b, "Contact: <sip:caller@%s;transport=%s>\r\n", u.local, strings.ToLower(u.transport()))
	b.WriteString("Max-Forwards: 70\r\n")
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.String()
}

func (u *uac) send(msg string) {
	u.t.Helper()
	if _, err := u.conn.Write([]byte(msg)); err != nil {
		u.t.Fatal(err)
	}
}

// next returns the next SIP message, or fails after d.
func (u *uac) next(d time.Duration) gosip.Message {
	u.t.Helper()
	if len(u.pending) > 0 {
		m := u.pending[0]
		u.pending = u.pending[1:]
		return m
	}
	if u.tcp && u.stream == nil {
		u.stream = u.parser.NewSIPStream()
	}
	deadline := time.Now().Add(d)
	for {
		u.conn.SetReadDeadline(deadline)
		n, err := u.conn.Read(u.buf)
		if err != nil {
			u.t.Fatalf("waiting for a sip message: %v", err)
		}
		if !u.tcp {
			m, err := u.parser.ParseSIP(u.buf[:n])
			if err != nil {
				u.t.Fatalf("unparsable message from server: %v\n%s", err, u.buf[:n])
			}
			return m
		}
		var msgs []gosip.Message
		err = u.stream.ParseSIPStream(u.buf[:n], func(m gosip.Message) { msgs = append(msgs, m) })
		if err != nil && err != gosip.ErrParseSipPartial {
			u.t.Fatalf("unparsable stream from server: %v", err)
		}
		if len(msgs) > 0 {
			u.pending = append(u.pending, msgs[1:]...)
			return msgs[0]
		}
	}
}

// response waits for a response with the code, skipping provisional ones
// and retransmissions of other codes.
func (u *uac) response(code int) *gosip.Response {
	u.t.Helper()
	for {
		m := u.next(5 * time.Second)
		res, ok := m.(*gosip.Response)
		if !ok {
			u.t.Fatalf("want %d, got request:\n%s", code, m)
		}
		if res.StatusCode == code {
			if tag, ok := res.To().Params.Get("tag"); ok && code >= 200 && code < 300 && res.CSeq().MethodName == "INVITE" {
				u.toTag = tag
			}
			return res
		}
		if res.StatusCode >= 200 {
			u.t.Fatalf("want %d, got:\n%s", code, res)
		}
	}
}

// requestIn waits for a request of the method, skipping responses.
func (u *uac) requestIn(method string, d time.Duration) *gosip.Request {
	u.t.Helper()
	for {
		m := u.next(d)
		if req, ok := m.(*gosip.Request); ok {
			if req.Method.String() == method {
				return req
			}
			u.t.Fatalf("want %s, got:\n%s", method, req)
		}
	}
}

// reply answers a request from the server.
func (u *uac) reply(req *gosip.Request, code int, reason string) {
	u.t.Helper()
	res := gosip.NewResponseFromRequest(req, code, reason, nil)
	u.send(res.String())
}

func (u *uac) invite(user string) *gosip.Response {
	u.t.Helper()
	u.send(u.request("INVITE", user, u.sdp("sendrecv", u.rtpPort())))
	return u.response(200)
}

func (u *uac) ack(body string) {
	u.send(u.request("ACK", "ivr", body))
}

// dial places a call and acknowledges it.
func (u *uac) dial(user string) *gosip.Response {
	u.t.Helper()
	res := u.invite(user)
	u.ack("")
	return res
}

// rtpFrom reads RTP until a packet comes from the server, and returns its
// source and payload type.
func (u *uac) rtpFrom(d time.Duration) (netip.AddrPort, byte) {
	u.t.Helper()
	buf := make([]byte, 1500)
	u.rtp.SetReadDeadline(time.Now().Add(d))
	n, from, err := u.rtp.ReadFromUDPAddrPort(buf)
	if err != nil {
		u.t.Fatalf("no rtp from server: %v", err)
	}
	if n < 12 || buf[0]>>6 != 2 {
		u.t.Fatalf("not rtp: % x", buf[:n])
	}
	return from, buf[1] & 0x7f
}

// sdpPort returns the port of the m=audio line.
func sdpPort(t *testing.T, body []byte) int {
	t.Helper()
	for _, l := range strings.Split(string(body), "\n") {
		var port int
		if _, err := fmt.Sscanf(strings.TrimSpace(l), "m=audio %d", &port); err == nil {
			return port
		}
	}
	t.Fatalf("no m=audio in:\n%s", body)
	return 0
}

// waitGoroutines waits until the goroutine count is back to at most n.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("goroutines: %d, want <= %d\n%s", runtime.NumGoroutine(), n, buf)
		}
		runtime.Gosched()
		time.Sleep(5 * time.Millisecond)
	}
}

// waitCalls waits until the server has n live calls.
func (ts *testServer) waitCalls(t *testing.T, n int) {
	t.Helper()
	for {
		ts.mu.Lock()
		cur, ch := len(ts.byCallID), ts.changed
		ts.mu.Unlock()
		if cur == n {
			return
		}
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("live calls: %d, want %d", cur, n)
		}
	}
}
