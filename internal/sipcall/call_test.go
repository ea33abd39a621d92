package sipcall

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/internal/records"
	"github.com/switchboard-voice/switchboard/internal/replay"
)

func scenario(t *testing.T, text string) *replay.Scenario {
	t.Helper()
	sc, err := replay.Parse(filepath.Join(t.TempDir(), "test.yaml"), []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// runAsync places sc as a call and returns its result on a channel.
func runAsync(sc *replay.Scenario, opts Options) <-chan Result {
	ch := make(chan Result, 1)
	go func() { ch <- Run(context.Background(), sc, opts) }()
	return ch
}

func result(t *testing.T, ch <-chan Result) Result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(15 * time.Second):
		t.Fatal("the call did not end")
	}
	return Result{}
}

func offerPort(t *testing.T, inv *gosip.Request) netip.AddrPort {
	t.Helper()
	for _, l := range strings.Split(string(inv.Body()), "\n") {
		var port int
		if _, err := fmt.Sscanf(strings.TrimSpace(l), "m=audio %d", &port); err == nil {
			return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
		}
	}
	t.Fatalf("no m=audio in the offer:\n%s", inv.Body())
	return netip.AddrPort{}
}

func TestCallSendsKeysAndPacedAudio(t *testing.T) {
	u := newFakeUAS(t)
	sc := scenario(t, `steps:
  - silence: 300ms
  - dtmf: "12#"
  - dtmf: {keys: "0", every: 40ms}
  - silence: 200ms
expect:
  outcome: hangup
  nodes: [a]
`)
	ch := runAsync(sc, Options{Target: u.target()})
	inv := u.answer(200, "OK")
	body := string(inv.Body())
	for _, want := range []string{"RTP/AVP 0 8 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=ptime:20"} {
		if !strings.Contains(body, want) {
			t.Errorf("offer lacks %q:\n%s", want, body)
		}
	}
	u.request("ACK", 5*time.Second)
	go u.sendAudio(offerPort(t, inv), []bool{true, true, true, true, true, false, false})
	if keys := u.waitKeys(4, 5*time.Second); keys != "12#0" {
		t.Fatalf("keys %q, want 12#0", keys)
	}
	time.Sleep(300 * time.Millisecond) // the last silence
	u.send(u.inDialog("BYE"))
	if res := u.response("BYE", 5*time.Second); res.StatusCode != 200 {
		t.Errorf("BYE answered %d", res.StatusCode)
	}
	r := result(t, ch)
	if !r.Report.Passed() || r.HungUpBy != "server" {
		t.Errorf("failures %q, hung up by %q", r.Report.Failures, r.HungUpBy)
	}
	if len(r.Skipped) != 1 || r.Skipped[0] != "nodes (needs --api)" {
		t.Errorf("skipped %q", r.Skipped)
	}
	if r.Codec != "PCMU" || r.Heard < 100*time.Millisecond || r.Sound < 60*time.Millisecond {
		t.Errorf("codec %s, heard %v of which sound %v", r.Codec, r.Heard, r.Sound)
	}

	pkts := u.rtpPackets()
	if len(pkts) < 30 {
		t.Fatalf("%d rtp packets", len(pkts))
	}
	ssrc, seq := pkts[0].pkt.SSRC, pkts[0].pkt.SequenceNumber
	var audioTS []uint32
	var slots []time.Time // one arrival per 20 ms slot: audio packets and first event packets
	events := map[uint32][]rtpIn{}
	for i, p := range pkts {
		if p.pkt.SSRC != ssrc {
			t.Fatalf("packet %d: ssrc %x, want one ssrc %x", i, p.pkt.SSRC, ssrc)
		}
		if p.pkt.SequenceNumber != seq+uint16(i) {
			t.Fatalf("packet %d: seq %d, want %d", i, p.pkt.SequenceNumber, seq+uint16(i))
		}
		switch p.pkt.PayloadType {
		case 0:
			audioTS = append(audioTS, p.pkt.Timestamp)
			slots = append(slots, p.at)
			if len(p.pkt.Payload) != 160 {
				t.Fatalf("audio payload %d bytes", len(p.pkt.Payload))
			}
		case 101:
			events[p.pkt.Timestamp] = append(events[p.pkt.Timestamp], p)
		default:
			t.Fatalf("payload type %d", p.pkt.PayloadType)
		}
	}
	// Audio timestamps advance by 160 per 20 ms slot, skipping the slots
	// the key presses took: always a multiple of 160 after the first.
	for i := 1; i < len(audioTS); i++ {
		if d := audioTS[i] - audioTS[i-1]; d == 0 || d%160 != 0 {
			t.Fatalf("audio timestamp step %d", d)
		}
	}
	if len(events) != 4 {
		t.Fatalf("%d events, want 4", len(events))
	}
	for ts, ev := range events {
		if (ts-audioTS[0])%160 != 0 {
			t.Errorf("event timestamp %d off the 20 ms grid", ts)
		}
		if !ev[0].pkt.Marker {
			t.Errorf("event at %d: no marker on its first packet", ts)
		}
		var ends, tone int
		var last uint16
		for i, p := range ev {
			pl := p.pkt.Payload
			dur := binary.BigEndian.Uint16(pl[2:])
			if pl[1]&0x80 != 0 {
				ends++
				if dur != last {
					t.Errorf("end packet duration %d, want %d", dur, last)
				}
				continue
			}
			tone++
			if i > 0 && p.pkt.Marker {
				t.Errorf("marker on a continuation packet")
			}
			if want := uint16(160 * (i + 1)); dur != want {
				t.Errorf("event duration %d, want %d", dur, want)
			}
			last = dur
		}
		if ends != 3 || tone == 0 {
			t.Errorf("event at %d: %d tone and %d end packets, want 3 end packets", ts, tone, ends)
		}
	}
	// Pacing: one packet every 20 ms, on average and each within a slot
	// or two of the clock (the race detector slows things).
	span := slots[len(slots)-1].Sub(slots[0])
	want := time.Duration(audioTS[len(audioTS)-1]-audioTS[0]) * time.Second / 8000
	if d := span - want; d < -40*time.Millisecond || d > 40*time.Millisecond {
		t.Errorf("audio took %v for %v of timestamps", span, want)
	}
}

func TestCallReferResults(t *testing.T) {
	for _, tc := range []struct {
		result  string
		refer   int // the REFER's answer
		notify  int // the sipfrag status, 0 for no NOTIFY
		outcome string
	}{
		{"ok", 202, 200, "transferred"},
		{"busy", 202, 486, "hangup"},
		{"declined", 202, 603, "hangup"},
		{"rejected", 405, 0, "hangup"},
		{"timeout", 202, 0, "hangup"},
	} {
		t.Run(tc.result, func(t *testing.T) {
			u := newFakeUAS(t)
			sc := scenario(t, fmt.Sprintf(`steps: []
transfer:
  - {target: sip:other@127.0.0.1, result: busy}
  - {target: sip:operator@127.0.0.1:5090, result: %s}
expect:
  outcome: %s
`, tc.result, tc.outcome))
			ch := runAsync(sc, Options{Target: u.target()})
			inv := u.answer(200, "OK")
			u.request("ACK", 5*time.Second)
			u.send(u.inDialog("REFER", "Refer-To: <sip:operator@127.0.0.1:5090>", "Referred-By: <sip:ivr@127.0.0.1>"))
			referCSeq := u.cseq
			res := u.response("REFER", 5*time.Second)
			if res.StatusCode != tc.refer {
				t.Fatalf("REFER answered %d, want %d", res.StatusCode, tc.refer)
			}
			if tc.notify != 0 {
				n := u.request("NOTIFY", 5*time.Second)
				u.reply(n, 200, "OK", "")
				checkNotify(t, n, inv, u, referCSeq, tc.notify)
			} else {
				select {
				case m := <-u.msgs:
					t.Fatalf("want no NOTIFY, got:\n%s", m.msg)
				case <-time.After(300 * time.Millisecond):
				}
			}
			u.send(u.inDialog("BYE"))
			u.response("BYE", 5*time.Second)
			r := result(t, ch)
			if !r.Report.Passed() {
				t.Errorf("failures: %q", r.Report.Failures)
			}
			if len(r.Refers) != 1 || r.Refers[0].ReferTo != "sip:operator@127.0.0.1:5090" || r.Refers[0].Result != tc.result {
				t.Errorf("refers %+v", r.Refers)
			}
			if tc.result == "ok" && r.Report.Result.TransferredTo != "sip:operator@127.0.0.1:5090" {
				t.Errorf("transferred to %q", r.Report.Result.TransferredTo)
			}
		})
	}
}

func checkNotify(t *testing.T, n, inv *gosip.Request, u *fakeUAS, referCSeq, status int) {
	t.Helper()
	if got, want := n.Recipient.String(), "sip:ivr@"+u.sip.LocalAddr().String(); got != want {
		t.Errorf("NOTIFY Request-URI %s, want our Contact %s", got, want)
	}
	if tag, _ := n.To().Params.Get("tag"); tag != u.tag {
		t.Errorf("NOTIFY To tag %q, want %q", tag, u.tag)
	}
	fromTag, _ := inv.From().Params.Get("tag")
	if tag, _ := n.From().Params.Get("tag"); tag != fromTag || fromTag == "" {
		t.Errorf("NOTIFY From tag %q, want the INVITE's %q", tag, fromTag)
	}
	if n.CallID().Value() != inv.CallID().Value() {
		t.Errorf("NOTIFY Call-ID %s", n.CallID().Value())
	}
	if n.CSeq().SeqNo <= inv.CSeq().SeqNo {
		t.Errorf("NOTIFY CSeq %d not above the INVITE's %d", n.CSeq().SeqNo, inv.CSeq().SeqNo)
	}
	for name, want := range map[string]string{
		"Event":              fmt.Sprintf("refer;id=%d", referCSeq),
		"Subscription-State": "terminated;reason=noresource",
		"Content-Type":       "message/sipfrag;version=2.0",
	} {
		if h := n.GetHeader(name); h == nil || h.Value() != want {
			t.Errorf("NOTIFY %s: %v, want %s", name, h, want)
		}
	}
	if body := string(n.Body()); !strings.HasPrefix(body, fmt.Sprintf("SIP/2.0 %d ", status)) {
		t.Errorf("NOTIFY body %q, want status %d", body, status)
	}
}

func TestCallerHangsUp(t *testing.T) {
	u := newFakeUAS(t)
	sc := scenario(t, "steps:\n  - silence: 200ms\n  - hangup: {}\nexpect:\n  outcome: caller-hangup\n  intents: []\n")
	ch := runAsync(sc, Options{Target: u.target()})
	u.answer(200, "OK")
	u.request("ACK", 5*time.Second)
	start := time.Now()
	bye := u.request("BYE", 5*time.Second)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("BYE after %v, before the silence was over", d)
	}
	u.reply(bye, 200, "OK", "")
	r := result(t, ch)
	if !r.Report.Passed() || r.HungUpBy != "caller" || r.Report.Result.Outcome.String() != "caller-hangup" {
		t.Errorf("failures %q, hung up by %s, outcome %s", r.Report.Failures, r.HungUpBy, r.Report.Result.Outcome)
	}
	if len(r.Skipped) != 1 || !strings.HasPrefix(r.Skipped[0], "intents (needs --api)") {
		t.Errorf("skipped %q", r.Skipped)
	}
}

func TestCallRefused(t *testing.T) {
	u := newFakeUAS(t)
	sc := scenario(t, "steps: []\nexpect:\n  outcome: hangup\n")
	ch := runAsync(sc, Options{Target: u.target()})
	u.answer(486, "Busy Here")
	if ack := u.request("ACK", 5*time.Second); ack.CSeq().SeqNo != 1 {
		t.Errorf("ACK CSeq %d", ack.CSeq().SeqNo)
	}
	r := result(t, ch)
	if len(r.Report.Failures) != 1 || r.Report.Failures[0] != "sip: the server answered the INVITE 486 Busy Here" {
		t.Errorf("failures %q", r.Report.Failures)
	}
}

func TestCallWaitNeedsAPI(t *testing.T) {
	sc := scenario(t, "steps:\n  - wait: menu\nexpect:\n  outcome: hangup\n")
	r := Run(context.Background(), sc, Options{Target: "sip:ivr@127.0.0.1:9"})
	if len(r.Report.Failures) != 1 || !strings.Contains(r.Report.Failures[0], "wait steps need the server's call records: give --api") {
		t.Errorf("failures %q", r.Report.Failures)
	}
}

// fakeRecords serves one call's record: path grows as the test says.
type fakeRecords struct {
	mu  sync.Mutex
	rec records.Record
}

func (f *fakeRecords) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rec.CallID == "" || r.URL.Path != "/calls/"+f.rec.CallID {
		http.NotFound(w, r)
		return
	}
	_ = json.NewEncoder(w).Encode(f.rec)
}

func (f *fakeRecords) update(fn func(*records.Record)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.rec)
}

func TestCallWaitsForNodeAndChecksRecord(t *testing.T) {
	u := newFakeUAS(t)
	fr := &fakeRecords{}
	api := httptest.NewServer(fr)
	defer api.Close()
	sc := scenario(t, `steps:
  - wait: menu
  - dtmf: "1"
expect:
  nodes: [greeting, menu, sales]
  recognised: []
  outcome: hangup
`)
	ch := runAsync(sc, Options{Target: u.target(), API: api.URL})
	inv := u.answer(200, "OK")
	u.request("ACK", 5*time.Second)
	fr.update(func(r *records.Record) {
		*r = records.Record{CallID: inv.CallID().Value(), Live: true, Path: []string{"greeting"}}
	})
	time.Sleep(400 * time.Millisecond)
	if k := u.keys(); k != "" {
		t.Fatalf("key %q pressed before the flow entered menu", k)
	}
	entered := time.Now()
	fr.update(func(r *records.Record) { r.Path = append(r.Path, "menu") })
	if k := u.waitKeys(1, 5*time.Second); k != "1" {
		t.Fatalf("keys %q", k)
	}
	if d := time.Since(entered); d > 400*time.Millisecond {
		t.Errorf("key %v after menu was entered", d)
	}
	fr.update(func(r *records.Record) {
		r.Path = append(r.Path, "billing")
		r.Inputs = []records.Input{{Kind: "digits", Digits: "1"}}
	})
	u.send(u.inDialog("BYE"))
	u.response("BYE", 5*time.Second)
	go func() {
		time.Sleep(200 * time.Millisecond)
		fr.update(func(r *records.Record) { r.Live, r.Outcome = false, "hangup" })
	}()
	r := result(t, ch)
	if len(r.Report.Failures) != 1 || !strings.Contains(r.Report.Failures[0], "^ node 3: want sales, got billing") {
		t.Errorf("failures %q", r.Report.Failures)
	}
	if r.Record == nil || r.Record.Live || len(r.Skipped) != 0 {
		t.Errorf("record %+v, skipped %q", r.Record, r.Skipped)
	}
}
