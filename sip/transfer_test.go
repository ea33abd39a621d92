package sip

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/ivr"
)

const operator = "sip:operator@127.0.0.1:5090"

// referee plays the caller's UA during a transfer on top of uac: it answers
// the REFER, sends NOTIFYs, and drops the server's retransmissions (with
// the test timers a REFER is resent every few tens of milliseconds).
type referee struct {
	*uac
	seen  map[string]bool // requests already taken, by method, CSeq and branch
	aside []gosip.Message // taken but not yet asked for
}

func newReferee(u *uac) *referee { return &referee{uac: u, seen: map[string]bool{}} }

// await returns the first message that match accepts, keeping the others
// for later calls; it fails the test after 5 s.
func (r *referee) await(what string, match func(gosip.Message) bool) gosip.Message {
	r.t.Helper()
	for i, m := range r.aside {
		if match(m) {
			r.aside = append(r.aside[:i], r.aside[i+1:]...)
			return m
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			r.t.Fatalf("no %s; other messages: %v", what, r.aside)
		}
		m := r.next(left)
		if req, ok := m.(*gosip.Request); ok {
			key := fmt.Sprintf("%s %d %s", req.Method, req.CSeq().SeqNo, req.Via().Params.GetOr("branch", ""))
			if r.seen[key] {
				continue
			}
			r.seen[key] = true
		}
		if match(m) {
			return m
		}
		r.aside = append(r.aside, m)
	}
}

func (r *referee) awaitRequest(method string) *gosip.Request {
	r.t.Helper()
	return r.await(method, func(m gosip.Message) bool {
		req, ok := m.(*gosip.Request)
		return ok && req.Method.String() == method
	}).(*gosip.Request)
}

// awaitFinal waits for the final response to our request of the method.
func (r *referee) awaitFinal(method string) *gosip.Response {
	r.t.Helper()
	return r.await("final response to "+method, func(m gosip.Message) bool {
		res, ok := m.(*gosip.Response)
		return ok && res.CSeq().MethodName.String() == method && res.StatusCode >= 200
	}).(*gosip.Response)
}

// notifyMsg builds a refer NOTIFY in the caller's dialog.
func (r *referee) notifyMsg(referCSeq uint32, state, frag string) string {
	r.cseq++
	msg := r.request("NOTIFY", "ivr", frag,
		"Event: refer;id="+strconv.FormatUint(uint64(referCSeq), 10),
		"Subscription-State: "+state)
	return strings.Replace(msg, "Content-Type: application/sdp", "Content-Type: message/sipfrag;version=2.0", 1)
}

// notify sends a refer NOTIFY and returns the server's answer code.
func (r *referee) notify(refer *gosip.Request, state, frag string) int {
	r.t.Helper()
	r.send(r.notifyMsg(refer.CSeq().SeqNo, state, frag))
	return r.awaitFinal("NOTIFY").StatusCode
}

// hangup sends the caller's BYE and waits for its 200.
func (r *referee) hangup() {
	r.t.Helper()
	r.cseq++
	r.send(r.request("BYE", "ivr", ""))
	if res := r.awaitFinal("BYE"); res.StatusCode != 200 {
		r.t.Fatalf("BYE answered %d", res.StatusCode)
	}
}

// noRequest checks that the server sent no new request of the method.
func (r *referee) noRequest(method string) {
	r.t.Helper()
	for _, m := range r.aside {
		if req, ok := m.(*gosip.Request); ok && req.Method.String() == method {
			r.t.Errorf("unexpected %s:\n%s", method, req)
		}
	}
}

type transferRet struct {
	res     TransferResult
	err     error
	playErr error // of a Play after the transfer, when the call was still up
}

// startTransfer dials a call whose flow transfers it to target, then, if
// the call is still up, plays a short prompt to show it still works.
func startTransfer(t *testing.T, tcp bool, target string, timeout time.Duration) (*testServer, *referee, <-chan transferRet) {
	t.Helper()
	ts := newTestServer(t, nil)
	ret := make(chan transferRet, 1)
	ts.setHandler(func(ctx context.Context, c *Call) {
		res, err := c.Refer(ctx, target, timeout)
		out := transferRet{res: res, err: err}
		if err == nil && res.Outcome != TransferOK && res.Outcome != TransferCallerGone {
			_, out.playErr = c.Play(ctx, make([]int16, 1600), ivr.PlayOptions{})
		}
		ret <- out
		<-ctx.Done()
	})
	addr := ts.udp
	if tcp {
		addr = ts.tcp
	}
	u := newUAC(t, addr, tcp)
	ok := u.dial("ivr")
	if allow := ok.GetHeader("Allow"); allow == nil || !strings.Contains(allow.Value(), "REFER") || !strings.Contains(allow.Value(), "NOTIFY") {
		t.Errorf("Allow of the 200 lacks REFER or NOTIFY: %v", allow)
	}
	return ts, newReferee(u), ret
}

func waitTransfer(t *testing.T, ret <-chan transferRet) transferRet {
	t.Helper()
	select {
	case r := <-ret:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("Transfer did not return")
	}
	return transferRet{}
}

func TestTransferOK(t *testing.T) {
	for _, tcp := range []bool{false, true} {
		name := "udp"
		if tcp {
			name = "tcp"
		}
		t.Run(name, func(t *testing.T) {
			ts, r, ret := startTransfer(t, tcp, operator, 5*time.Second)
			c := <-ts.calls
			refer := r.awaitRequest("REFER")
			if got := refer.GetHeader("Refer-To"); got == nil || got.Value() != "<"+operator+">" {
				t.Errorf("Refer-To = %v, want <%s>", got, operator)
			}
			if got := refer.GetHeader("Referred-By"); got == nil || !strings.Contains(got.Value(), "sip:ivr@127.0.0.1") {
				t.Errorf("Referred-By = %v, want the URI the caller called", got)
			}
			// In the dialog (RFC 3261 §12.2.1.1): our tag, theirs, the
			// Call-ID, the caller's Contact, and a CSeq after the INVITE's.
			if tag, _ := refer.From().Params.Get("tag"); tag != r.toTag {
				t.Errorf("REFER from-tag %q, dialog's %q", tag, r.toTag)
			}
			if tag, _ := refer.To().Params.Get("tag"); tag != r.fromTag {
				t.Errorf("REFER to-tag %q, caller's %q", tag, r.fromTag)
			}
			if refer.CallID().Value() != r.callID || refer.CSeq().MethodName != "REFER" || refer.CSeq().SeqNo != 2 {
				t.Errorf("REFER Call-ID/CSeq: %s / %s", refer.CallID().Value(), refer.CSeq().Value())
			}
			if !strings.Contains(refer.Recipient.String(), "caller@") || refer.Contact() == nil {
				t.Errorf("REFER Request-URI %s (want the caller's Contact), Contact %v", refer.Recipient.String(), refer.Contact())
			}
			r.reply(refer, 202, "Accepted")
			if code := r.notify(refer, "active;expires=60", "SIP/2.0 100 Trying\r\n"); code != 200 {
				t.Errorf("NOTIFY 100 answered %d", code)
			}
			if c.Context().Err() != nil {
				t.Fatal("call ended on a provisional sipfrag")
			}
			if code := r.notify(refer, "terminated;reason=noresource", "SIP/2.0 200 OK"); code != 200 {
				t.Errorf("NOTIFY 200 answered %d", code)
			}
			bye := r.awaitRequest("BYE")
			if bye.CSeq().SeqNo <= refer.CSeq().SeqNo {
				t.Errorf("BYE CSeq %d not after REFER's %d", bye.CSeq().SeqNo, refer.CSeq().SeqNo)
			}
			r.reply(bye, 200, "OK")
			got := waitTransfer(t, ret)
			if got.err != nil || got.res.Outcome != TransferOK || got.res.Status != 200 || got.res.Elapsed <= 0 {
				t.Errorf("Transfer = %+v, %v", got.res, got.err)
			}
			ts.waitCalls(t, 0)
		})
	}
}

// TestTransferNotifyBeforeAccepted: the final NOTIFY may overtake the 202
// (RFC 3515 §2.4.4); it decides the transfer all the same.
func TestTransferNotifyBeforeAccepted(t *testing.T) {
	ts, r, ret := startTransfer(t, false, operator, 5*time.Second)
	refer := r.awaitRequest("REFER")
	if code := r.notify(refer, "terminated;reason=noresource", "SIP/2.0 200 OK\r\n"); code != 200 {
		t.Errorf("NOTIFY answered %d", code)
	}
	r.reply(refer, 202, "Accepted")
	r.reply(r.awaitRequest("BYE"), 200, "OK")
	if got := waitTransfer(t, ret); got.res.Outcome != TransferOK {
		t.Errorf("Transfer = %+v, %v", got.res, got.err)
	}
	ts.waitCalls(t, 0)
}

func TestTransferFailed(t *testing.T) {
	for _, tc := range []struct {
		code  int
		frag  string
		state string
	}{
		{486, "SIP/2.0 486 Busy Here\r\n", "terminated;reason=noresource"},
		{603, "SIP/2.0 603 Decline", "active;expires=60"}, // a final status ends it whatever the state says
		{0, "SIP/2.0 180 Ringing\r\n", "terminated;reason=timeout"},
	} {
		t.Run(strconv.Itoa(tc.code), func(t *testing.T) {
			ts, r, ret := startTransfer(t, false, operator, 5*time.Second)
			c := <-ts.calls
			refer := r.awaitRequest("REFER")
			r.reply(refer, 202, "Accepted")
			r.notify(refer, "active;expires=60", "SIP/2.0 100 Trying")
			if code := r.notify(refer, tc.state, tc.frag); code != 200 {
				t.Errorf("NOTIFY answered %d", code)
			}
			got := waitTransfer(t, ret)
			if got.err != nil || got.res.Outcome != TransferFailed || got.res.Status != tc.code {
				t.Errorf("Transfer = %+v, %v; want failed %d", got.res, got.err, tc.code)
			}
			if got.playErr != nil || c.Context().Err() != nil {
				t.Errorf("call not usable after a failed transfer: play %v, ctx %v", got.playErr, c.Context().Err())
			}
			r.hangup()
			r.noRequest("BYE")
			ts.waitCalls(t, 0)
		})
	}
}

func TestTransferRejected(t *testing.T) {
	for _, code := range []int{405, 501, 603, 488} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			ts, r, ret := startTransfer(t, false, operator, 5*time.Second)
			c := <-ts.calls
			refer := r.awaitRequest("REFER")
			r.reply(refer, code, "No")
			got := waitTransfer(t, ret)
			if got.err != nil || got.res.Outcome != TransferRejected || got.res.Status != code {
				t.Errorf("Transfer = %+v, %v; want rejected %d", got.res, got.err, code)
			}
			if got.playErr != nil || c.Context().Err() != nil {
				t.Errorf("call not usable after a rejected transfer: play %v, ctx %v", got.playErr, c.Context().Err())
			}
			r.hangup()
			r.noRequest("BYE")
			ts.waitCalls(t, 0)
		})
	}
}

func TestTransferTimeout(t *testing.T) {
	t.Run("no final notify", func(t *testing.T) {
		ts, r, ret := startTransfer(t, false, operator, 300*time.Millisecond)
		c := <-ts.calls
		refer := r.awaitRequest("REFER")
		r.reply(refer, 202, "Accepted")
		r.notify(refer, "active;expires=60", "SIP/2.0 100 Trying")
		got := waitTransfer(t, ret)
		if got.err != nil || got.res.Outcome != TransferTimeout || got.res.Elapsed < 300*time.Millisecond {
			t.Errorf("Transfer = %+v, %v; want timeout after 300ms", got.res, got.err)
		}
		if got.playErr != nil || c.Context().Err() != nil {
			t.Errorf("call not usable after a timeout: play %v, ctx %v", got.playErr, c.Context().Err())
		}
		// The final NOTIFY arrives after all: answered, not acted on.
		if code := r.notify(refer, "terminated;reason=noresource", "SIP/2.0 200 OK"); code != 200 {
			t.Errorf("late NOTIFY answered %d", code)
		}
		if c.Context().Err() != nil {
			t.Error("a late NOTIFY ended the call")
		}
		r.hangup()
		r.noRequest("BYE")
		ts.waitCalls(t, 0)
	})
	t.Run("no answer to refer", func(t *testing.T) {
		// Timer F (64*T1, 1.28 s with the test timers) ends the REFER's
		// transaction before the transfer's own timeout.
		ts, r, ret := startTransfer(t, false, operator, 5*time.Second)
		c := <-ts.calls
		r.awaitRequest("REFER")
		got := waitTransfer(t, ret)
		if got.err != nil || got.res.Outcome != TransferTimeout || got.res.Elapsed > 4*time.Second {
			t.Errorf("Transfer = %+v, %v; want timeout at timer F", got.res, got.err)
		}
		if got.playErr != nil || c.Context().Err() != nil {
			t.Errorf("call not usable: play %v, ctx %v", got.playErr, c.Context().Err())
		}
		r.hangup()
		ts.waitCalls(t, 0)
	})
}

func TestTransferCallerHangsUp(t *testing.T) {
	ts, r, ret := startTransfer(t, false, operator, 10*time.Second)
	refer := r.awaitRequest("REFER")
	r.reply(refer, 202, "Accepted")
	r.notify(refer, "active;expires=60", "SIP/2.0 100 Trying")
	start := time.Now()
	r.hangup()
	got := waitTransfer(t, ret)
	if got.err != nil || got.res.Outcome != TransferCallerGone {
		t.Errorf("Transfer = %+v, %v; want caller gone", got.res, got.err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Transfer noticed the hang-up after %s", d)
	}
	ts.waitCalls(t, 0)
	r.noRequest("BYE")
}

// TestTransferNotifyMatching: NOTIFYs of another REFER (Event id) do not
// decide this transfer; other event packages are refused.
func TestTransferNotifyMatching(t *testing.T) {
	ts, r, ret := startTransfer(t, false, operator, 5*time.Second)
	refer := r.awaitRequest("REFER")
	r.reply(refer, 202, "Accepted")
	r.send(r.notifyMsg(refer.CSeq().SeqNo+100, "terminated;reason=noresource", "SIP/2.0 200 OK"))
	if code := r.awaitFinal("NOTIFY").StatusCode; code != 200 {
		t.Errorf("NOTIFY of another REFER answered %d", code)
	}
	r.cseq++
	r.send(r.request("NOTIFY", "ivr", "", "Event: presence", "Subscription-State: active"))
	if code := r.awaitFinal("NOTIFY").StatusCode; code != 489 {
		t.Errorf("presence NOTIFY answered %d, want 489", code)
	}
	// Compact Event header (RFC 3515 §7: "o"), no version on the type.
	r.cseq++
	msg := r.request("NOTIFY", "ivr", "SIP/2.0 486 Busy Here\r\n",
		"o: refer;id="+strconv.FormatUint(uint64(refer.CSeq().SeqNo), 10), "Subscription-State: terminated")
	r.send(strings.Replace(msg, "application/sdp", "message/sipfrag", 1))
	if code := r.awaitFinal("NOTIFY").StatusCode; code != 200 {
		t.Errorf("NOTIFY answered %d", code)
	}
	if got := waitTransfer(t, ret); got.res.Outcome != TransferFailed || got.res.Status != 486 {
		t.Errorf("Transfer = %+v, %v; want failed 486", got.res, got.err)
	}
	r.hangup()
	ts.waitCalls(t, 0)
}

func TestNotifyAndReferRefusals(t *testing.T) {
	ts := newTestServer(t, nil)
	u := newUAC(t, ts.udp, false)

	// A NOTIFY in no dialog of ours.
	u.toTag = "nope"
	r := newReferee(u)
	r.send(r.notifyMsg(2, "terminated", "SIP/2.0 200 OK"))
	if code := r.awaitFinal("NOTIFY").StatusCode; code != 481 {
		t.Errorf("NOTIFY outside a dialog answered %d, want 481", code)
	}

	u = newUAC(t, ts.udp, false)
	u.dial("ivr")
	c := <-ts.calls
	r = newReferee(u)
	// A NOTIFY in the dialog with no transfer pending is still answered.
	r.send(r.notifyMsg(2, "terminated", "SIP/2.0 200 OK"))
	if code := r.awaitFinal("NOTIFY").StatusCode; code != 200 {
		t.Errorf("NOTIFY with no transfer answered %d, want 200", code)
	}
	// A caller may not transfer us anywhere.
	r.cseq++
	r.send(r.request("REFER", "ivr", "", "Refer-To: <sip:premium@example.com>"))
	if code := r.awaitFinal("REFER").StatusCode; code != 603 {
		t.Errorf("caller's REFER answered %d, want 603", code)
	}
	if c.Context().Err() != nil {
		t.Error("call ended")
	}
	r.send(r.request("OPTIONS", "ivr", ""))
	if allow := r.awaitFinal("OPTIONS").GetHeader("Allow"); allow == nil || !strings.Contains(allow.Value(), "REFER, NOTIFY") {
		t.Errorf("OPTIONS Allow = %v", allow)
	}
	r.hangup()
	ts.waitCalls(t, 0)
}

func TestTransferBadTarget(t *testing.T) {
	ts := newTestServer(t, nil)
	errs := make(chan error, 8)
	bad := []string{"", "operator", "http://example.com/", "sip:", "sip:op@", "tel:", "tel:call-me",
		"sip:op@host\r\nX-Evil: 1", "sip:op@host>;x=<sip:a@b", "sip:a b@host"}
	ts.setHandler(func(ctx context.Context, c *Call) {
		for _, target := range bad {
			res, err := c.Refer(ctx, target, time.Second)
			if err == nil || res.Outcome != 0 {
				t.Errorf("Transfer(%q) = %+v, %v; want an error", target, res, err)
			}
		}
		_, err := c.Play(ctx, make([]int16, 800), ivr.PlayOptions{})
		errs <- err
		<-ctx.Done()
	})
	u := newUAC(t, ts.udp, false)
	u.dial("ivr")
	if err := <-errs; err != nil {
		t.Errorf("play after bad targets: %v", err)
	}
	r := newReferee(u)
	r.hangup()
	r.noRequest("REFER")
	ts.waitCalls(t, 0)
}

func TestParseTransferTarget(t *testing.T) {
	for in, want := range map[string]string{
		operator:                        operator,
		"<sip:op@host>":                 "sip:op@host",
		" sips:op@host;transport=tls":   "sips:op@host;transport=tls",
		"SIP:Op@Host:5070":              "SIP:Op@Host:5070",
		"tel:+1-555-0100":               "tel:+1-555-0100",
		"tel:7042;phone-context=ex.com": "tel:7042;phone-context=ex.com",
		"sip:op@host?Replaces=abc":      "sip:op@host?Replaces=abc",
	} {
		got, err := parseTransferTarget(in)
		if err != nil || got != want {
			t.Errorf("parseTransferTarget(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestParseSipfrag(t *testing.T) {
	for _, tc := range []struct {
		body   string
		code   int
		reason string
	}{
		{"SIP/2.0 200 OK", 200, "OK"},
		{"SIP/2.0 100 Trying\r\n", 100, "Trying"},
		{"\r\nsip/2.0 486 Busy Here\r\nContent-Length: 0\r\n\r\n", 486, "Busy Here"},
		{"SIP/2.0 603", 603, ""},
		{"SIP/2.0 503 Service Unavailable\n", 503, "Service Unavailable"},
	} {
		code, reason, err := parseSipfrag([]byte(tc.body))
		if err != nil || code != tc.code || reason != tc.reason {
			t.Errorf("parseSipfrag(%q) = %d %q %v", tc.body, code, reason, err)
		}
	}
	for _, body := range []string{"", "OK", "SIP/2.0 2000 OK", "SIP/2.0 099 x", "SIP/2.0 700 x", "INVITE sip:a@b SIP/2.0", "HTTP/1.1 200 OK", "SIP/2.0 +20 OK"} {
		if code, _, err := parseSipfrag([]byte(body)); err == nil {
			t.Errorf("parseSipfrag(%q) = %d, want an error", body, code)
		}
	}
}

func FuzzParseSipfrag(f *testing.F) {
	for _, s := range []string{"SIP/2.0 200 OK", "SIP/2.0 100 Trying\r\n", "\r\nSIP/2.0 486 Busy Here\r\nX: y\r\n", "SIP/2.0 6", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		code, reason, err := parseSipfrag(body)
		if err != nil {
			return
		}
		if code < 100 || code > 699 || strings.Contains(reason, "\n") {
			t.Fatalf("parseSipfrag(%q) = %d %q", body, code, reason)
		}
		// What it read, written back as a status line, reads the same.
		line := fmt.Sprintf("SIP/2.0 %d %s", code, reason)
		if code2, reason2, err := parseSipfrag([]byte(line)); err != nil || code2 != code || reason2 != strings.TrimSpace(reason) {
			t.Fatalf("round trip of %q: %d %q %v", line, code2, reason2, err)
		}
	})
}

func TestSplitParams(t *testing.T) {
	v, p := splitParams(" terminated ;reason=noresource; retry-after=30;ID=\"7\"")
	if v != "terminated" || p["reason"] != "noresource" || p["retry-after"] != "30" || p["id"] != "7" {
		t.Errorf("splitParams: %q %v", v, p)
	}
}
