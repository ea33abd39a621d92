package offer

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
)

func TestDirection(t *testing.T) {
	tests := []struct {
		d          Direction
		name       string
		send, recv bool
		reverse    Direction
	}{
		{SendRecv, "sendrecv", true, true, SendRecv},
		{SendOnly, "sendonly", true, false, RecvOnly},
		{RecvOnly, "recvonly", false, true, SendOnly},
		{Inactive, "inactive", false, false, Inactive},
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.name {
			t.Errorf("%d.String() = %q, want %q", tt.d, got, tt.name)
		}
		if tt.d.Send() != tt.send || tt.d.Recv() != tt.recv {
			t.Errorf("%v: Send %v Recv %v, want %v %v", tt.d, tt.d.Send(), tt.d.Recv(), tt.send, tt.recv)
		}
		if got := tt.d.Reverse(); got != tt.reverse {
			t.Errorf("%v.Reverse() = %v, want %v", tt.d, got, tt.reverse)
		}
		if got, ok := parseDirection(tt.name); !ok || got != tt.d {
			t.Errorf("parseDirection(%q) = %v, %v", tt.name, got, ok)
		}
	}
	if got := Direction(9).String(); got != "Direction(9)" {
		t.Errorf("unknown direction prints %q", got)
	}
	var zero Direction
	if zero != SendRecv {
		t.Error("zero Direction is not sendrecv, the SDP default")
	}
}

// TestAnswerDirectionTable runs each offered direction through Answer and
// checks the answered attribute and Media.Direction (RFC 3264 §6.1).
func TestAnswerDirectionTable(t *testing.T) {
	tests := []struct {
		offer string // media-level attribute, "" for none
		conn  string
		want  Direction
	}{
		{"", "192.0.2.1", SendRecv},
		{"a=sendrecv", "192.0.2.1", SendRecv},
		{"a=sendonly", "192.0.2.1", RecvOnly},
		{"a=recvonly", "192.0.2.1", SendOnly},
		{"a=inactive", "192.0.2.1", Inactive},
		{"", "0.0.0.0", RecvOnly},
		{"a=sendrecv", "0.0.0.0", RecvOnly},
		{"a=sendonly", "0.0.0.0", RecvOnly},
		{"a=recvonly", "0.0.0.0", Inactive},
		{"a=inactive", "0.0.0.0", Inactive},
	}
	for _, tt := range tests {
		var media []string
		if tt.offer != "" {
			media = append(media, tt.offer)
		}
		offer := offerSDP("c=IN IP4 "+tt.conn, "m=audio 4000 RTP/AVP 0", media...)
		answer, m, err := Answer(offer, testLocal)
		if err != nil {
			t.Fatalf("%q c=%s: %v", tt.offer, tt.conn, err)
		}
		if m.Direction != tt.want {
			t.Errorf("%q c=%s: direction %v, want %v", tt.offer, tt.conn, m.Direction, tt.want)
		}
		if !strings.Contains(string(answer), "\r\na="+tt.want.String()+"\r\n") {
			t.Errorf("%q c=%s: answer lacks a=%v:\n%s", tt.offer, tt.conn, tt.want, answer)
		}
	}
}

func TestOfferExample(t *testing.T) {
	got := string(Offer(testLocal))
	want := "v=0\r\n" +
		"o=switchboard 123 124 IN IP4 203.0.113.5\r\n" +
		"s=switchboard\r\n" +
		"c=IN IP4 203.0.113.5\r\n" +
		"t=0 0\r\n" +
		"m=audio 10002 RTP/AVP 0 8 101\r\n" +
		"a=rtpmap:0 PCMU/8000\r\n" +
		"a=rtpmap:8 PCMA/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\n" +
		"a=fmtp:101 0-16\r\n" +
		"a=ptime:20\r\n" +
		"a=sendrecv\r\n"
	if got != want {
		t.Errorf("offer\n%s\nwant\n%s", got, want)
	}
	l := testLocal
	l.Codecs = []string{"PCMA"}
	if got := string(Offer(l)); !strings.Contains(got, "m=audio 10002 RTP/AVP 8 101\r\n") || strings.Contains(got, "PCMU") {
		t.Errorf("PCMA-only offer:\n%s", got)
	}
}

// TestOfferRoundTrip feeds our Offer to our own Answer (as a peer would
// see it) and the answer back to ParseAnswer.
func TestOfferRoundTrip(t *testing.T) {
	us := testLocal
	peer := Local{Addr: netip.MustParseAddr("198.51.100.9"), Port: 30000, SessionID: 7, Version: 7, Codecs: []string{"PCMA"}}

	offer := Offer(us)
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(offer); err != nil {
		t.Fatalf("offer does not parse: %v", err)
	}
	answer, peerMedia, err := Answer(offer, peer)
	if err != nil {
		t.Fatal(err)
	}
	if peerMedia.Remote != ap("203.0.113.5:10002") || peerMedia.Codec != "PCMA" || peerMedia.DTMFType != 101 {
		t.Errorf("peer sees %+v", peerMedia)
	}
	m, err := ParseAnswer(answer, us)
	if err != nil {
		t.Fatal(err)
	}
	want := Media{Remote: ap("198.51.100.9:30000"), PayloadType: 8, Codec: "PCMA", DTMFType: 101, Ptime: 20, Direction: SendRecv, RemoteRTCP: ap("198.51.100.9:30001")}
	if m != want {
		t.Errorf("ParseAnswer\n got %+v\nwant %+v", m, want)
	}
}

func TestParseAnswer(t *testing.T) {
	answer := func(mline string, extra ...string) []byte {
		return offerSDP("c=IN IP4 198.51.100.9", mline, extra...)
	}
	tests := []struct {
		name   string
		answer []byte
		want   Media
		err    error
	}{
		{
			name:   "pjsua 200 OK",
			answer: []byte("v=0\r\no=- 3937460446 3937460448 IN IP4 192.168.88.121\r\ns=pjmedia\r\nb=AS:285\r\nt=0 0\r\na=X-nat:0\r\nm=audio 4000 RTP/AVP 0 101\r\nc=IN IP4 192.168.88.121\r\nb=TIAS:256000\r\na=rtcp:4001 IN IP4 192.168.88.121\r\na=sendrecv\r\na=rtpmap:0 PCMU/8000\r\na=ssrc:2705443 cname:39b32d12074d4dc8\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"),
			want:   Media{Remote: ap("192.168.88.121:4000"), PayloadType: 0, Codec: "PCMU", DTMFType: 101, Ptime: 20, Direction: SendRecv, RemoteRTCP: ap("192.168.88.121:4001")},
		},
		{
			name:   "answer keeps a different DTMF PT",
			answer: answer("m=audio 5000 RTP/AVP 8 97", "a=rtpmap:97 telephone-event/8000", "a=ptime:30"),
			want:   Media{Remote: ap("198.51.100.9:5000"), PayloadType: 8, Codec: "PCMA", DTMFType: 97, Ptime: 30, Direction: SendRecv, RemoteRTCP: ap("198.51.100.9:5001")},
		},
		{
			name:   "answerer is recvonly: we only send",
			answer: answer("m=audio 5000 RTP/AVP 0", "a=recvonly"),
			want:   Media{Remote: ap("198.51.100.9:5000"), PayloadType: 0, Codec: "PCMU", Ptime: 20, Direction: SendOnly, RemoteRTCP: ap("198.51.100.9:5001")},
		},
		{name: "stream rejected", answer: answer("m=audio 0 RTP/AVP 0"), err: ErrNoCommonCodec},
		{name: "codec we did not offer", answer: answer("m=audio 5000 RTP/AVP 18", "a=rtpmap:18 G729/8000"), err: ErrNoCommonCodec},
		{name: "no audio", answer: answer("m=video 5000 RTP/AVP 96"), err: ErrNoCommonCodec},
		{name: "wrong transport", answer: answer("m=audio 5000 RTP/SAVP 0"), err: errAny},
		{name: "garbage", answer: []byte("not sdp"), err: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseAnswer(tt.answer, testLocal)
			switch {
			case tt.err == errAny:
				if err == nil {
					t.Fatalf("no error, media %+v", m)
				}
				return
			case tt.err != nil:
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if m != tt.want {
				t.Errorf("media\n got %+v\nwant %+v", m, tt.want)
			}
		})
	}
}

// FuzzAnswer checks that no input panics and that every answer Answer
// produces is valid SDP with the offer's number of m= lines.
func FuzzAnswer(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "sdp", "*.sdp"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(""))
	f.Add([]byte("v=0\r\n"))
	f.Fuzz(func(t *testing.T, offer []byte) {
		answer, m, err := Answer(offer, testLocal)
		if err != nil {
			return
		}
		if m.PayloadType != 0 && m.PayloadType != 8 {
			t.Fatalf("payload type %d", m.PayloadType)
		}
		if m.Ptime < 10 || m.Ptime > 60 {
			t.Fatalf("ptime %d", m.Ptime)
		}
		var o, a sdp.SessionDescription
		if err := o.UnmarshalString(strings.TrimSpace(string(offer)) + "\r\n"); err != nil {
			t.Fatalf("accepted an offer pion rejects: %v", err)
		}
		if err := a.Unmarshal(answer); err != nil {
			t.Fatalf("answer does not parse: %v\n%q", err, answer)
		}
		if len(a.MediaDescriptions) != len(o.MediaDescriptions) {
			t.Fatalf("answer has %d m= lines, offer %d", len(a.MediaDescriptions), len(o.MediaDescriptions))
		}
		if _, err := ParseAnswer(answer, testLocal); err != nil && !errors.Is(err, ErrNoCommonCodec) {
			// Our own answer must read back (RTP/AVPF answers are the
			// exception: ParseAnswer only takes what Offer offers).
			if !strings.Contains(string(answer), "RTP/AVPF") {
				t.Fatalf("our answer does not read back: %v\n%s", err, answer)
			}
		}
	})
}
