package sip

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/ivr"
)

func TestCallAnsweredAndCallerHangsUp(t *testing.T) {
	for _, tcp := range []bool{false, true} {
		name := "udp"
		if tcp {
			name = "tcp"
		}
		t.Run(name, func(t *testing.T) {
			ts := newTestServer(t, nil)
			addr := ts.udp
			if tcp {
				addr = ts.tcp
			}
			u := newUAC(t, addr, tcp)
			// One round trip first: by then every goroutine the server
			// keeps for its lifetime (listeners, clock shards) runs.
			u.send(u.request("OPTIONS", "100", ""))
			u.response(200)
			base := runtime.NumGoroutine()
			if tcp {
				base-- // the reader of this TCP connection, closed below
			}
			u.send(u.request("INVITE", "100", u.sdp("sendrecv", u.rtpPort())))
			u.response(100)
			ok := u.response(200)
			if ct := ok.ContentType(); ct == nil || ct.Value() != "application/sdp" {
				t.Errorf("200 content type = %v", ct)
			}
			if ok.Contact() == nil || ok.GetHeader("Allow") == nil {
				t.Errorf("200 lacks Contact or Allow:\n%s", ok)
			}
			if tcp && !strings.Contains(ok.Contact().Value(), "transport=tcp") {
				t.Errorf("tcp contact = %s", ok.Contact().Value())
			}
			body := string(ok.Body())
			if !strings.Contains(body, "m=audio ") || !strings.Contains(body, "a=rtpmap:0 PCMU/8000") || !strings.Contains(body, "telephone-event/8000") {
				t.Errorf("answer:\n%s", body)
			}
			u.ack("")
			c := <-ts.calls
			info := c.Info()
			if info.Called != "100" || info.Caller != "caller" || info.CallID != u.callID {
				t.Errorf("info = %+v", info)
			}
			// Media flows to the address in our offer, as PCMU.
			from, pt := u.rtpFrom(2 * time.Second)
			if pt != 0 || int(from.Port()) != sdpPort(t, ok.Body()) {
				t.Errorf("rtp from %s pt %d, answer port %d", from, pt, sdpPort(t, ok.Body()))
			}
			u.cseq++
			u.send(u.request("BYE", "100", ""))
			u.response(200)
			select {
			case <-c.Context().Done():
			case <-time.After(5 * time.Second):
				t.Fatal("handler context not cancelled by BYE")
			}
			ts.waitCalls(t, 0)
			if n := ts.ports.InUse(); n != 0 {
				t.Errorf("ports in use after call: %d", n)
			}
			// The server keeps a TCP connection's reader while the peer
			// keeps the connection open.
			u.conn.Close()
			waitGoroutines(t, base)
		})
	}
}

func TestFlowEndSendsBye(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.setHandler(func(ctx context.Context, c *Call) {
		if _, err := c.Play(ctx, make([]int16, 800), ivr.PlayOptions{}); err != nil {
			t.Errorf("play: %v", err)
		}
		c.Hangup(ctx)
	})
	u := newUAC(t, ts.udp, false)
	u.dial("ivr")
	bye := u.requestIn("BYE", 5*time.Second)
	if got, _ := bye.From().Params.Get("tag"); got != u.toTag {
		t.Errorf("BYE from-tag %q, our dialog's to-tag %q", got, u.toTag)
	}
	if bye.CallID().Value() != u.callID || bye.CSeq().MethodName != "BYE" {
		t.Errorf("BYE headers:\n%s", bye)
	}
	if !strings.Contains(bye.Recipient.String(), "caller@") {
		t.Errorf("BYE Request-URI %s is not our Contact", bye.Recipient.String())
	}
	u.reply(bye, 200, "OK")
	ts.waitCalls(t, 0)
}

func TestOKRetransmittedUntilACK(t *testing.T) {
	ts := newTestServer(t, nil)
	u := newUAC(t, ts.udp, false)
	first := u.invite("ivr")
	// Without an ACK the same 200 comes again (RFC 3261 §13.3.1.4).
	again := u.response(200)
	if again.CSeq().SeqNo != first.CSeq().SeqNo || again.To().Value() != first.To().Value() {
		t.Errorf("retransmission differs:\n%s\n%s", first, again)
	}
	u.ack("")
	<-ts.calls
	u.cseq++
	u.send(u.request("BYE", "ivr", ""))
	u.response(200)
	ts.waitCalls(t, 0)
}

func TestNoACKEndsCallWithBye(t *testing.T) {
	ts := newTestServer(t, nil)
	u := newUAC(t, ts.udp, false)
	u.invite("ivr")
	// 64*T1 later (1.28 s with the test timers) the server gives up.
	bye := u.requestIn("BYE", 5*time.Second)
	u.reply(bye, 200, "OK")
	ts.waitCalls(t, 0)
	select {
	case <-ts.calls:
		t.Error("the flow ran although the call was never acknowledged")
	default:
	}
}

func TestCancelWhileRinging(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.Ring = 10 * time.Second })
	u := newUAC(t, ts.udp, false)
	invite := u.request("INVITE", "ivr", u.sdp("sendrecv", u.rtpPort()))
	u.send(invite)
	u.response(180)
	// CANCEL carries the INVITE's Via branch and CSeq number (RFC 3261 §9.1).
	via := strings.SplitN(strings.SplitN(invite, "Via: ", 2)[1], "\r\n", 2)[0]
	cancel := strings.Join([]string{
		"CANCEL sip:ivr@127.0.0.1 SIP/2.0",
		"Via: " + via,
		"From: <sip:caller@127.0.0.1>;tag=" + u.fromTag,
		"To: <sip:ivr@127.0.0.1>",
		"Call-ID: " + u.callID,
		"CSeq: 1 CANCEL",
		"Max-Forwards: 70",
		"Content-Length: 0", "", ""}, "\r\n")
	u.send(cancel)
	got := map[string]int{}
	for len(got) < 2 {
		res := u.next(5 * time.Second)
		r, ok := res.(interface{ StartLine() string })
		if !ok {
			t.Fatal("not a response")
		}
		line := r.StartLine()
		switch {
		case strings.Contains(line, "200 OK"):
			got["cancel-200"]++
		case strings.Contains(line, "487"):
			got["invite-487"]++
		case strings.Contains(line, "180"):
		default:
			t.Fatalf("unexpected %s", line)
		}
	}
	u.send(u.request("ACK", "ivr", ""))
	ts.waitCalls(t, 0)
}

func TestReinviteHoldAndMove(t *testing.T) {
	ts := newTestServer(t, nil)
	u := newUAC(t, ts.udp, false)
	ok := u.dial("ivr")
	c := <-ts.calls
	u.rtpFrom(2 * time.Second)

	// Hold: we offer sendonly, the answer must be recvonly, with a new
	// o= version since our description changed.
	u.cseq++
	u.send(u.request("INVITE", "ivr", u.sdp("sendonly", u.rtpPort())))
	hold := u.response(200)
	u.ack("")
	if !strings.Contains(string(hold.Body()), "a=recvonly") {
		t.Errorf("hold answer:\n%s", hold.Body())
	}
	if sdpVersion(t, hold.Body()) <= sdpVersion(t, ok.Body()) {
		t.Errorf("o= version did not move on: %d then %d", sdpVersion(t, ok.Body()), sdpVersion(t, hold.Body()))
	}

	// Resume to a new port: RTP must follow, and the call goes on.
	moved, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer moved.Close()
	u.cseq++
	u.send(u.request("INVITE", "ivr", u.sdp("sendrecv", moved.LocalAddr().(*net.UDPAddr).Port)))
	res := u.response(200)
	u.ack("")
	if !strings.Contains(string(res.Body()), "a=sendrecv") || sdpPort(t, res.Body()) != sdpPort(t, ok.Body()) {
		t.Errorf("resume answer:\n%s", res.Body())
	}
	buf := make([]byte, 1500)
	moved.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, _, err := moved.ReadFromUDPAddrPort(buf); err != nil {
		t.Fatalf("no rtp at the new address: %v", err)
	}
	if c.Context().Err() != nil {
		t.Fatal("re-INVITE ended the call")
	}
	u.cseq++
	u.send(u.request("BYE", "ivr", ""))
	u.response(200)
	ts.waitCalls(t, 0)
}

func sdpVersion(t *testing.T, body []byte) int {
	t.Helper()
	for _, l := range strings.Split(string(body), "\n") {
		if f := strings.Fields(l); len(f) >= 3 && strings.HasPrefix(f[0], "o=") {
			var v int
			for _, ch := range f[2] {
				v = v*10 + int(ch-'0')
			}
			return v
		}
	}
	t.Fatalf("no o= line:\n%s", body)
	return 0
}

func TestInviteWithoutSDP(t *testing.T) {
	ts := newTestServer(t, nil)
	u := newUAC(t, ts.udp, false)
	u.send(u.request("INVITE", "ivr", ""))
	ok := u.response(200)
	body := string(ok.Body())
	for _, want := range []string{"a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "telephone-event/8000", "a=sendrecv"} {
		if !strings.Contains(body, want) {
			t.Errorf("offer lacks %q:\n%s", want, body)
		}
	}
	// Our answer picks PCMA; media must use it.
	answer := strings.Join([]string{"v=0", "o=caller 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
		"m=audio " + strconv.Itoa(u.rtpPort()) + " RTP/AVP 8 101", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=sendrecv", ""}, "\r\n")
	u.send(u.request("ACK", "ivr", answer))
	<-ts.calls
	for i := 0; i < 5; i++ {
		if _, pt := u.rtpFrom(2 * time.Second); pt == 8 {
			break
		} else if i == 4 {
			t.Fatalf("payload type %d after a PCMA answer", pt)
		}
	}
	u.cseq++
	u.send(u.request("BYE", "ivr", ""))
	u.response(200)
	ts.waitCalls(t, 0)
}

func TestRefusals(t *testing.T) {
	ts := newTestServer(t, nil)
	g729 := strings.Join([]string{"v=0", "o=x 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
		"m=audio 4000 RTP/AVP 18", "a=rtpmap:18 G729/8000", ""}, "\r\n")
	cases := []struct {
		name string
		msg  func(u *uac) string
		code int
		hdr  string
		raw  bool // the answer echoes the malformed header, so read it as text
	}{
		{"no common codec", func(u *uac) string { return u.request("INVITE", "ivr", g729) }, 488, "Warning", false},
		{"no route", func(u *uac) string { return u.request("INVITE", "nobody", u.sdp("sendrecv", 4000)) }, 404, "", false},
		{"options", func(u *uac) string { return u.request("OPTIONS", "ivr", "") }, 200, "Allow", false},
		{"register", func(u *uac) string { return u.request("REGISTER", "ivr", "") }, 405, "Allow", false},
		{"unknown method", func(u *uac) string { return u.request("FOO", "ivr", "") }, 501, "Allow", false},
		{"bye outside dialog", func(u *uac) string { u.toTag = "nope"; return u.request("BYE", "ivr", "") }, 481, "", false},
		{"too many hops", func(u *uac) string {
			return strings.Replace(u.request("OPTIONS", "ivr", ""), "Max-Forwards: 70", "Max-Forwards: 0", 1)
		}, 483, "", false},
		{"require", func(u *uac) string { return u.request("INVITE", "ivr", u.sdp("sendrecv", 4000), "Require: 100rel") }, 420, "Unsupported", false},
		{"bad uri scheme", func(u *uac) string {
			return strings.Replace(u.request("OPTIONS", "ivr", ""), "OPTIONS sip:", "OPTIONS http:", 1)
		}, 416, "", false},
		{"not sdp", func(u *uac) string {
			return strings.Replace(u.request("INVITE", "ivr", "hello"), "application/sdp", "text/plain", 1)
		}, 415, "Accept", false},
		{"malformed header", func(u *uac) string {
			return strings.Replace(u.request("OPTIONS", "ivr", ""), "CSeq: 1 OPTIONS", "CSeq: one OPTIONS", 1)
		}, 400, "", true},
		{"garbage sdp", func(u *uac) string { return u.request("INVITE", "ivr", "this is not sdp") }, 400, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := newUAC(t, ts.udp, false)
			u.send(tc.msg(u))
			if tc.raw {
				u.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				n, err := u.conn.Read(u.buf)
				if err != nil || !strings.HasPrefix(string(u.buf[:n]), "SIP/2.0 400 ") {
					t.Fatalf("want 400, got %v %q", err, u.buf[:n])
				}
				return
			}
			res := u.response(tc.code)
			if tc.hdr != "" && res.GetHeader(tc.hdr) == nil {
				t.Errorf("%d lacks %s:\n%s", tc.code, tc.hdr, res)
			}
		})
	}
	ts.waitCalls(t, 0)
	if n := ts.ports.InUse(); n != 0 {
		t.Errorf("refused calls left %d ports in use", n)
	}
}

func TestDrainRefusesNewCallsAndShutdownHangsUp(t *testing.T) {
	ts := newTestServer(t, nil)
	u := newUAC(t, ts.udp, false)
	u.dial("ivr")
	<-ts.calls
	ts.Drain()
	late := newUAC(t, ts.udp, false)
	late.send(late.request("INVITE", "ivr", late.sdp("sendrecv", late.rtpPort())))
	if res := late.response(503); res.GetHeader("Retry-After") == nil {
		t.Errorf("503 without Retry-After")
	}
	// The live call survives the drain; Shutdown with no grace left BYEs it.
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		ts.Shutdown(ctx)
	}()
	bye := u.requestIn("BYE", 5*time.Second)
	u.reply(bye, 200, "OK")
	<-done
	if ts.ActiveCalls() != 0 {
		t.Errorf("calls left after shutdown: %d", ts.ActiveCalls())
	}
}

func TestMediaTimeoutHangsUp(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.MediaTimeout = 300 * time.Millisecond })
	u := newUAC(t, ts.udp, false)
	u.dial("ivr")
	<-ts.calls
	// The caller sends no RTP at all.
	bye := u.requestIn("BYE", 5*time.Second)
	u.reply(bye, 200, "OK")
	ts.waitCalls(t, 0)
}

func TestKeysByInfoAndPrompt(t *testing.T) {
	ts := newTestServer(t, nil)
	got := make(chan ivr.Input, 2)
	ts.setHandler(func(ctx context.Context, c *Call) {
		// A long prompt that the first key interrupts.
		in, err := c.Play(ctx, make([]int16, 8000*30), ivr.PlayOptions{DTMFBargeIn: true})
		if err != nil {
			t.Errorf("play: %v", err)
		}
		got <- in
		in, err = c.Listen(ctx, ivr.ListenOptions{MaxDigits: 3, Terminator: "#", InitialKeys: in.Digits})
		if err != nil {
			t.Errorf("listen: %v", err)
		}
		got <- in
		<-ctx.Done()
	})
	u := newUAC(t, ts.udp, false)
	u.dial("ivr")
	info := func(body string) {
		u.cseq++
		msg := u.request("INFO", "ivr", body)
		msg = strings.Replace(msg, "Content-Type: application/sdp", "Content-Type: application/dtmf-relay", 1)
		u.send(msg)
		u.response(200)
	}
	info("Signal=4\r\nDuration=160\r\n")
	if in := <-got; in.Kind != ivr.InputDigits || in.Digits != "4" {
		t.Errorf("during prompt: %+v", in)
	}
	info("Signal=2\r\nDuration=160\r\n")
	info("Signal=#\r\nDuration=160\r\n")
	if in := <-got; in.Kind != ivr.InputDigits || in.Digits != "42" {
		t.Errorf("listen: %+v", in)
	}
	u.cseq++
	u.send(u.request("BYE", "ivr", ""))
	u.response(200)
	ts.waitCalls(t, 0)
}

func TestParseDTMFInfo(t *testing.T) {
	for body, want := range map[string]byte{
		"Signal=5\r\nDuration=160": '5', "Signal= *\r\n": '*', "signal=11": '#', "#": '#', "a": 'A', "9": '9',
	} {
		if k, ok := parseDTMFInfo([]byte(body)); !ok || k != want {
			t.Errorf("parseDTMFInfo(%q) = %q %v, want %q", body, k, ok, want)
		}
	}
	for _, body := range []string{"Signal=x", "", "Signal=55"} {
		if _, ok := parseDTMFInfo([]byte(body)); ok {
			t.Errorf("parseDTMFInfo(%q) accepted", body)
		}
	}
}

func TestBadRequestBuilder(t *testing.T) {
	raw := "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bKx\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: zz OPTIONS\r\n\r\n"
	res := badRequest([]byte(raw), errString("bad cseq"))
	if res == nil || !strings.HasPrefix(string(res), "SIP/2.0 400 ") || !strings.Contains(string(res), "To: <sip:a@b>;tag=") {
		t.Errorf("badRequest:\n%s", res)
	}
	if badRequest([]byte("SIP/2.0 200 OK\r\nVia: x\r\n\r\n"), errString("x")) != nil {
		t.Error("answered a response")
	}
	if badRequest([]byte("ACK sip:a@b SIP/2.0\r\nVia: x\r\n\r\n"), errString("x")) != nil {
		t.Error("answered an ACK")
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// TestKeyDuringAnnouncementCarriesOver: a key pressed while a prompt that
// cannot be interrupted plays is not lost; it interrupts the next prompt
// that can be.
func TestKeyDuringAnnouncementCarriesOver(t *testing.T) {
	ts := newTestServer(t, nil)
	got := make(chan ivr.Input, 1)
	playing := make(chan struct{})
	ts.setHandler(func(ctx context.Context, c *Call) {
		close(playing)
		if in, err := c.Play(ctx, make([]int16, 8000), ivr.PlayOptions{}); err != nil || in.Kind != ivr.InputNone {
			t.Errorf("announcement: %+v %v", in, err)
		}
		in, err := c.Play(ctx, make([]int16, 8000*30), ivr.PlayOptions{DTMFBargeIn: true})
		if err != nil {
			t.Errorf("prompt: %v", err)
		}
		got <- in
		<-ctx.Done()
	})
	u := newUAC(t, ts.udp, false)
	u.dial("ivr")
	<-playing
	u.cseq++
	msg := strings.Replace(u.request("INFO", "ivr", "Signal=7\r\n"), "application/sdp", "application/dtmf-relay", 1)
	u.send(msg)
	u.response(200)
	select {
	case in := <-got:
		if in.Kind != ivr.InputDigits || in.Digits != "7" {
			t.Errorf("next prompt got %+v, want key 7", in)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the key did not interrupt the next prompt")
	}
	u.cseq++
	u.send(u.request("BYE", "ivr", ""))
	u.response(200)
	ts.waitCalls(t, 0)
}

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestShutdownDoesNotWaitForAGoneCaller(t *testing.T) {
	// The caller vanished without a BYE: our BYE at shutdown is never
	// answered. Shutdown gives up on it after shutdownByeWait rather than
	// after the BYE transaction's timeout (64*T1, 32 s in production; the
	// test's T1 is short, so the wait is made shorter still).
	defer func(d time.Duration) { shutdownByeWait = d }(shutdownByeWait)
	shutdownByeWait = 10 * time.Millisecond
	logs := &lockedBuffer{}
	ts := newTestServer(t, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	u := newUAC(t, ts.udp, false)
	u.dial("ivr")
	<-ts.calls
	u.conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ts.Shutdown(ctx)
	if ts.ActiveCalls() != 0 {
		t.Errorf("calls left after shutdown: %d", ts.ActiveCalls())
	}
	if !strings.Contains(logs.String(), "giving up on unanswered BYEs") {
		t.Errorf("shutdown did not give up on the unanswered BYE; log:\n%s", logs.String())
	}
}
