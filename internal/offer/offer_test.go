package offer

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
)

var testLocal = Local{
	Addr:      netip.MustParseAddr("203.0.113.5"),
	Port:      10002,
	SessionID: 123,
	Version:   124,
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sdp", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// TestAnswerFixtures answers every captured offer in testdata/sdp.
func TestAnswerFixtures(t *testing.T) {
	tests := []struct {
		file  string
		codec string
		pt    uint8
		dtmf  uint8
		dir   Direction
		rtp   string
		rtcp  string
		ptime int
		err   error
	}{
		{file: "linphone-talk.sdp", codec: "PCMU", pt: 0, dtmf: 100, dir: SendRecv, rtp: "203.0.113.98:44305", rtcp: "203.0.113.98:59090", ptime: 20},
		{file: "zoiper-5.3.8.sdp", codec: "PCMU", pt: 0, dtmf: 101, dir: SendRecv, rtp: "203.0.113.200:23706", rtcp: "203.0.113.200:23707", ptime: 20},
		{file: "microsip-3.21.3.sdp", codec: "PCMA", pt: 8, dtmf: 101, dir: SendRecv, rtp: "192.168.71.146:4008", rtcp: "192.168.71.146:4009", ptime: 20},
		{file: "baresip-1.0.sdp", codec: "PCMU", pt: 0, dtmf: 101, dir: SendRecv, rtp: "127.0.0.1:11944", rtcp: "127.0.0.1:11945", ptime: 20},
		{file: "baresip-1.0-ipv6.sdp", codec: "PCMU", pt: 0, dtmf: 101, dir: SendRecv, rtp: "[::1]:17018", rtcp: "[::1]:17019", ptime: 20},
		{file: "baresip-1.0-hold-sendonly.sdp", codec: "PCMU", pt: 0, dtmf: 101, dir: RecvOnly, rtp: "127.0.0.1:19472", rtcp: "127.0.0.1:19473", ptime: 20},
		{file: "baresip-1.0-inactive.sdp", codec: "PCMU", pt: 0, dtmf: 101, dir: Inactive, rtp: "127.0.0.1:19472", rtcp: "127.0.0.1:19473", ptime: 20},
		{file: "baresip-1.0-audio-video.sdp", codec: "PCMU", pt: 0, dtmf: 101, dir: SendRecv, rtp: "127.0.0.1:42846", rtcp: "127.0.0.1:42847", ptime: 20},
		{file: "baresip-1.0-srtp-mandatory.sdp", err: ErrNoCommonCodec},
		{file: "baresip-1.0-opus-only.sdp", err: ErrNoCommonCodec},
		{file: "sipp-3.6.1-uac.sdp", codec: "PCMU", pt: 0, dtmf: 0, dir: SendRecv, rtp: "127.0.0.1:6000", rtcp: "127.0.0.1:6001", ptime: 20},
		{file: "sipp-3.6.1-harness-call-operator.sdp", codec: "PCMU", pt: 0, dtmf: 101, dir: SendRecv, rtp: "127.0.0.1:36000", rtcp: "127.0.0.1:36001", ptime: 20},
		{file: "asterisk-16-freepbx-trunk.sdp", codec: "PCMA", pt: 8, dtmf: 101, dir: SendRecv, rtp: "192.0.2.17:12752", rtcp: "192.0.2.17:12753", ptime: 20},
		{file: "asterisk-16-hold-c0000.sdp", codec: "PCMA", pt: 8, dtmf: 101, dir: RecvOnly, rtp: "0.0.0.0:12752", rtcp: "0.0.0.0:12753", ptime: 20},
		{file: "freeswitch-1.8.5.sdp", codec: "PCMA", pt: 8, dtmf: 101, dir: SendRecv, rtp: "192.168.50.50:26060", rtcp: "192.168.50.50:26061", ptime: 20},
		{file: "telnyx-trunk.sdp", codec: "PCMU", pt: 0, dtmf: 101, dir: SendRecv, rtp: "198.51.100.48:19888", rtcp: "198.51.100.48:19889", ptime: 20},
		{file: "broadworks-pcma-te96.sdp", codec: "PCMA", pt: 8, dtmf: 96, dir: SendRecv, rtp: "198.51.100.23:23490", rtcp: "198.51.100.23:23491", ptime: 20},
	}

	// Every fixture must be in the table.
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "sdp", "*.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, tt := range tests {
		listed[tt.file] = true
	}
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			t.Errorf("fixture %s has no row in the table", filepath.Base(f))
		}
	}

	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			offer := readFixture(t, tt.file)
			answer, m, err := Answer(offer, testLocal)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				if answer != nil {
					t.Errorf("answer = %q, want nil on error", answer)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := Media{
				Remote:      ap(tt.rtp),
				PayloadType: tt.pt,
				Codec:       tt.codec,
				DTMFType:    tt.dtmf,
				Ptime:       tt.ptime,
				Direction:   tt.dir,
				RemoteRTCP:  ap(tt.rtcp),
			}
			if m != want {
				t.Errorf("media\n got %+v\nwant %+v", m, want)
			}
			checkAnswer(t, offer, answer, m)
		})
	}
}

// checkAnswer verifies an answer against its offer the way a peer would:
// it parses with pion/sdp, has one m= line per offered m= line in the same
// order, and exactly one accepted line that carries what m says.
func checkAnswer(t *testing.T, offer, answer []byte, m Media) {
	t.Helper()
	if !bytes.HasSuffix(answer, []byte("\r\n")) || bytes.Contains(bytes.ReplaceAll(answer, []byte("\r\n"), nil), []byte("\n")) {
		t.Errorf("answer lines are not all CRLF-terminated:\n%q", answer)
	}
	var o, a sdp.SessionDescription
	if err := o.Unmarshal(offer); err != nil {
		t.Fatalf("offer does not parse: %v", err)
	}
	if err := a.Unmarshal(answer); err != nil {
		t.Fatalf("answer does not parse: %v\n%s", err, answer)
	}
	if len(a.MediaDescriptions) != len(o.MediaDescriptions) {
		t.Fatalf("answer has %d m= lines, offer %d", len(a.MediaDescriptions), len(o.MediaDescriptions))
	}
	accepted := 0
	for i, am := range a.MediaDescriptions {
		om := o.MediaDescriptions[i]
		if am.MediaName.Media != om.MediaName.Media {
			t.Errorf("m= line %d: media %q, offer %q", i, am.MediaName.Media, om.MediaName.Media)
		}
		if am.MediaName.Port.Value == 0 {
			continue
		}
		accepted++
		if am.MediaName.Port.Value != testLocal.Port {
			t.Errorf("accepted port %d, want %d", am.MediaName.Port.Value, testLocal.Port)
		}
		if got, want := strings.Join(am.MediaName.Protos, "/"), strings.Join(om.MediaName.Protos, "/"); got != want {
			t.Errorf("proto %s, offer %s", got, want)
		}
		if am.MediaName.Formats[0] != itoa(m.PayloadType) {
			t.Errorf("first format %s, want %d", am.MediaName.Formats[0], m.PayloadType)
		}
		if m.DTMFType != 0 {
			if got, _ := am.Attribute("rtpmap"); got == "" {
				t.Errorf("no rtpmap in answer")
			}
			if !containsAttr(am, "rtpmap", itoa(m.DTMFType)+" telephone-event/8000") {
				t.Errorf("answer lacks telephone-event at %d", m.DTMFType)
			}
		}
		if !containsAttr(am, m.Direction.String(), "") {
			t.Errorf("answer lacks a=%s", m.Direction)
		}
		if !containsAttr(am, "ptime", itoa(DefaultPtime)) {
			t.Errorf("answer lacks a=ptime:%d, the packet time we send", DefaultPtime)
		}
	}
	if accepted != 1 {
		t.Errorf("answer accepts %d streams, want 1", accepted)
	}
	if a.Origin.SessionID != testLocal.SessionID || a.Origin.SessionVersion != testLocal.Version {
		t.Errorf("o= %d %d, want %d %d", a.Origin.SessionID, a.Origin.SessionVersion, testLocal.SessionID, testLocal.Version)
	}
}

func containsAttr(md *sdp.MediaDescription, key, value string) bool {
	for _, a := range md.Attributes {
		if a.Key == key && a.Value == value {
			return true
		}
	}
	return false
}

func itoa[T uint8 | int](n T) string { return strconv.Itoa(int(n)) }

// TestAnswerExample pins the exact bytes of a conventional answer.
func TestAnswerExample(t *testing.T) {
	answer, _, err := Answer(readFixture(t, "sipp-3.6.1-harness-call-operator.sdp"), testLocal)
	if err != nil {
		t.Fatal(err)
	}
	want := "v=0\r\n" +
		"o=switchboard 123 124 IN IP4 203.0.113.5\r\n" +
		"s=switchboard\r\n" +
		"c=IN IP4 203.0.113.5\r\n" +
		"t=0 0\r\n" +
		"m=audio 10002 RTP/AVP 0 101\r\n" +
		"a=rtpmap:0 PCMU/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\n" +
		"a=fmtp:101 0-16\r\n" +
		"a=ptime:20\r\n" +
		"a=sendrecv\r\n"
	if string(answer) != want {
		t.Errorf("answer\n%s\nwant\n%s", answer, want)
	}
}

// TestAnswerVideoRejected checks RFC 3264 §6: the video line stays, port 0.
func TestAnswerVideoRejected(t *testing.T) {
	answer, _, err := Answer(readFixture(t, "baresip-1.0-audio-video.sdp"), testLocal)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(answer, []byte("m=video 0 RTP/AVP 96\r\n")) {
		t.Errorf("video not rejected in place:\n%s", answer)
	}
}

// offerSDP builds a small offer: session lines (c=, b=, a=; separated by
// \n) and media lines after the m= line.
func offerSDP(session, mline string, media ...string) []byte {
	lines := []string{"v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-"}
	var attrs []string // session a= lines follow t= (RFC 4566 §5)
	if session != "" {
		for _, l := range strings.Split(session, "\n") {
			if strings.HasPrefix(l, "a=") {
				attrs = append(attrs, l)
			} else {
				lines = append(lines, l)
			}
		}
	}
	lines = append(lines, "t=0 0")
	lines = append(lines, attrs...)
	lines = append(lines, mline)
	lines = append(lines, media...)
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

func TestAnswerCases(t *testing.T) {
	tests := []struct {
		name  string
		offer []byte
		local func(*Local)
		want  Media
		err   error // errors.Is target; errAny for any error
		check func(t *testing.T, answer string)
	}{
		{
			name:  "static PTs without rtpmap, PCMA first",
			offer: offerSDP("c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP 8 0"),
			want:  Media{Remote: ap("192.0.2.1:4000"), PayloadType: 8, Codec: "PCMA", Ptime: 20, RemoteRTCP: ap("192.0.2.1:4001")},
		},
		{
			name:  "lower-case rtpmap names",
			offer: offerSDP("c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP 0 97", "a=rtpmap:0 pcmu/8000", "a=rtpmap:97 Telephone-Event/8000", "a=fmtp:97 0-15"),
			want:  Media{Remote: ap("192.0.2.1:4000"), PayloadType: 0, Codec: "PCMU", DTMFType: 97, Ptime: 20, RemoteRTCP: ap("192.0.2.1:4001")},
		},
		{
			name:  "offer order wins over local order",
			offer: offerSDP("c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP 0 8"),
			local: func(l *Local) { l.Codecs = []string{"PCMA", "PCMU"} },
			want:  Media{Remote: ap("192.0.2.1:4000"), PayloadType: 0, Codec: "PCMU", Ptime: 20, RemoteRTCP: ap("192.0.2.1:4001")},
		},
		{
			name:  "local codecs restrict",
			offer: offerSDP("c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP 0 8"),
			local: func(l *Local) { l.Codecs = []string{"pcma"} },
			want:  Media{Remote: ap("192.0.2.1:4000"), PayloadType: 8, Codec: "PCMA", Ptime: 20, RemoteRTCP: ap("192.0.2.1:4001")},
		},
		{
			name:  "local codecs exclude everything offered",
			offer: offerSDP("c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP 0"),
			local: func(l *Local) { l.Codecs = []string{"PCMA"} },
			err:   ErrNoCommonCodec,
		},
		{
			name: "telephone-event/48000 ignored, /8000 chosen",
			offer: offerSDP("c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP 111 0 110 126",
				"a=rtpmap:111 opus/48000/2", "a=rtpmap:0 PCMU/8000", "a=rtpmap:110 telephone-event/48000", "a=rtpmap:126 telephone-event/8000"),
			want: Media{Remote: ap("192.0.2.1:4000"), PayloadType: 0, Codec: "PCMU", DTMFType: 126, Ptime: 20, RemoteRTCP: ap("192.0.2.1:4001")},
			check: func(t *testing.T, a string) {
				if strings.Contains(a, "48000") || strings.Contains(a, "a=fmtp") {
					t.Errorf("answer carries the wrong telephone-event or an fmtp the offer lacked:\n%s", a)
				}
			},
		},
		{
			name:  "only telephone-event/48000: no DTMF",
			offer: offerSDP("c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP 0 110", "a=rtpmap:110 telephone-event/48000"),
			want:  Media{Remote: ap("192.0.2.1:4000"), PayloadType: 0, Codec: "PCMU", Ptime: 20, RemoteRTCP: ap("192.0.2.1:4001")},
		},
		{
			name:  "odd fmtp not echoed",
			offer: offerSDP("c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP 0 101", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15 evil=1"),
			want:  Media{Remote: ap("192.0.2.1:4000"), PayloadType: 0, Codec: "PCMU", DTMFType: 101, Ptime: 20, RemoteRTCP: ap("192.0.2.1:4001")},
			check: func(t *testing.T, a string) {
				if strings.Contains(a, "evil") {
					t.Errorf("fmtp echoed:\n%s", a)
				}
			},
		},
		{
			name:  "ptime 30",
			offer: offerSDP("c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP 0", "a=ptime:30"),
			want:  Media{Remote: ap("192.0.2.1:4000"), PayloadType: 0, Codec: "PCMU", Ptime: 30, RemoteRTCP: ap("192.0.2.1:4001")},
			check: func(t *testing.T, a string) {
				// The peer's preference is read; the answer says what we
				// send.
				if !strings.Contains(a, "a=ptime:20\r\n") {
					t.Errorf("answer does not say ptime 20:\n%s", a)
				}
			},
		},
		{
			name:  "ptime 5 too short",
			offer: offerSDP("c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP 0", "a=ptime:5"),
			want:  Media{Remote: ap("192.0.2.1:4000"), PayloadType: 0, Codec: "PCMU", Ptime: 20, RemoteRTCP: ap("192.0.2.1:4001")},
		},
		{
			name:  "ptime 90 too long",
			offer: offerSDP("c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP 0", "a=ptime:90"),
			want:  Media{Remote: ap("192.0.2.1:4000"), PayloadType: 0, Codec: "PCMU", Ptime: 20, RemoteRTCP: ap("192.0.2.1:4001")},
		},
		{
			name:  "ptime garbage",
			offer: offerSDP("c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP 0", "a=ptime:twenty"),
			want:  Media{Remote: ap("192.0.2.1:4000"), PayloadType: 0, Codec: "PCMU", Ptime: 20, RemoteRTCP: ap("192.0.2.1:4001")},
		},
		{
			name:  "ptime 40.0",
			offer: offerSDP("c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP 0", "a=ptime:40.0"),
			want:  Media{Remote: ap("192.0.2.1:4000"), PayloadType: 0, Codec: "PCMU", Ptime: 40, RemoteRTCP: ap("192.0.2.1:4001")},
		},
		{
			name:  "session-level sendonly",
			offer: offerSDP("c=IN IP4 192.0.2.1\na=sendonly", "m=audio 4000 RTP/AVP 0"),
			want:  Media{Remote: ap("192.0.2.1:4000"), PayloadType: 0, Codec: "PCMU", Ptime: 20, Direction: RecvOnly, RemoteRTCP: ap("192.0.2.1:4001")},
		},
		{
			name:  "media-level direction wins",
			offer: offerSDP("c=IN IP4 192.0.2.1\na=sendonly", "m=audio 4000 RTP/AVP 0", "a=recvonly"),
			want:  Media{Remote: ap("192.0.2.1:4000"), PayloadType: 0, Codec: "PCMU", Ptime: 20, Direction: SendOnly, RemoteRTCP: ap("192.0.2.1:4001")},
		},
		{
			name:  "media-level c= wins",
			offer: offerSDP("c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP 0", "c=IN IP4 198.51.100.7"),
			want:  Media{Remote: ap("198.51.100.7:4000"), PayloadType: 0, Codec: "PCMU", Ptime: 20, RemoteRTCP: ap("198.51.100.7:4001")},
		},
		{
			name:  "media-level c= only",
			offer: offerSDP("", "m=audio 4000 RTP/AVP 0", "c=IN IP4 198.51.100.7"),
			want:  Media{Remote: ap("198.51.100.7:4000"), PayloadType: 0, Codec: "PCMU", Ptime: 20, RemoteRTCP: ap("198.51.100.7:4001")},
		},
		{
			name:  "c=0.0.0.0 with recvonly is inactive",
			offer: offerSDP("c=IN IP4 0.0.0.0", "m=audio 4000 RTP/AVP 0", "a=recvonly"),
			want:  Media{Remote: ap("0.0.0.0:4000"), PayloadType: 0, Codec: "PCMU", Ptime: 20, Direction: Inactive, RemoteRTCP: ap("0.0.0.0:4001")},
		},
		{
			name:  "IPv6 media-level c= and a=rtcp with address",
			offer: offerSDP("", "m=audio 4000 RTP/AVP 0", "c=IN IP6 2001:db8::10", "a=rtcp:4005 IN IP6 2001:db8::11"),
			want:  Media{Remote: ap("[2001:db8::10]:4000"), PayloadType: 0, Codec: "PCMU", Ptime: 20, RemoteRTCP: ap("[2001:db8::11]:4005")},
		},
		{
			name:  "IPv6 local address",
			offer: offerSDP("c=IN IP6 2001:db8::10", "m=audio 4000 RTP/AVP 0"),
			local: func(l *Local) { l.Addr = netip.MustParseAddr("2001:db8::5") },
			want:  Media{Remote: ap("[2001:db8::10]:4000"), PayloadType: 0, Codec: "PCMU", Ptime: 20, RemoteRTCP: ap("[2001:db8::10]:4001")},
			check: func(t *testing.T, a string) {
				if !strings.Contains(a, "c=IN IP6 2001:db8::5\r\n") || !strings.Contains(a, " IN IP6 2001:db8::5\r\n") {
					t.Errorf("no IPv6 c=/o=:\n%s", a)
				}
			},
		},
		{
			name:  "rtcp-mux and b= lines ignored",
			offer: offerSDP("c=IN IP4 192.0.2.1\nb=AS:84", "m=audio 4000 RTP/AVP 0", "b=TIAS:64000", "a=rtcp-mux", "a=x-unknown:whatever"),
			want:  Media{Remote: ap("192.0.2.1:4000"), PayloadType: 0, Codec: "PCMU", Ptime: 20, RemoteRTCP: ap("192.0.2.1:4001")},
			check: func(t *testing.T, a string) {
				if strings.Contains(a, "rtcp-mux") {
					t.Errorf("rtcp-mux answered:\n%s", a)
				}
			},
		},
		{
			name:  "two audio streams: first usable accepted",
			offer: offerSDP("c=IN IP4 192.0.2.1", "m=audio 4000 RTP/SAVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA", "m=audio 4002 RTP/AVP 0", "m=audio 4004 RTP/AVP 8"),
			want:  Media{Remote: ap("192.0.2.1:4002"), PayloadType: 0, Codec: "PCMU", Ptime: 20, RemoteRTCP: ap("192.0.2.1:4003")},
			check: func(t *testing.T, a string) {
				want := "m=audio 0 RTP/SAVP 0\r\nm=audio 10002 RTP/AVP 0\r\n"
				if !strings.Contains(a, want) || !strings.HasSuffix(a, "m=audio 0 RTP/AVP 8\r\n") {
					t.Errorf("streams not answered in order:\n%s", a)
				}
			},
		},
		{
			name:  "application stream before audio",
			offer: offerSDP("c=IN IP4 192.0.2.1", "m=application 5000 UDP/BFCP *", "m=audio 4000 RTP/AVP 0"),
			want:  Media{Remote: ap("192.0.2.1:4000"), PayloadType: 0, Codec: "PCMU", Ptime: 20, RemoteRTCP: ap("192.0.2.1:4001")},
			check: func(t *testing.T, a string) {
				if !strings.Contains(a, "m=application 0 UDP/BFCP *\r\nm=audio 10002 ") {
					t.Errorf("application not rejected in place:\n%s", a)
				}
			},
		},
		{
			name:  "RTP/AVPF accepted and echoed",
			offer: offerSDP("c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVPF 0"),
			want:  Media{Remote: ap("192.0.2.1:4000"), PayloadType: 0, Codec: "PCMU", Ptime: 20, RemoteRTCP: ap("192.0.2.1:4001")},
		},
		{name: "WebRTC offer", offer: offerSDP("c=IN IP4 192.0.2.1", "m=audio 9 UDP/TLS/RTP/SAVPF 111 0"), err: ErrNoCommonCodec},
		{name: "G.729 only", offer: offerSDP("c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP 18", "a=rtpmap:18 G729/8000"), err: ErrNoCommonCodec},
		{name: "PCMU at 16 kHz is not G.711", offer: offerSDP("c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP 96", "a=rtpmap:96 PCMU/16000"), err: ErrNoCommonCodec},
		{name: "video only", offer: offerSDP("c=IN IP4 192.0.2.1", "m=video 4000 RTP/AVP 96"), err: ErrNoCommonCodec},
		{name: "audio disabled by offerer", offer: offerSDP("c=IN IP4 192.0.2.1", "m=audio 0 RTP/AVP 0"), err: ErrNoCommonCodec},
		{name: "no m= line", offer: offerSDP("c=IN IP4 192.0.2.1", "a=sendrecv"), err: ErrNoCommonCodec},
		{name: "no c= line", offer: offerSDP("", "m=audio 4000 RTP/AVP 0"), err: errAny},
		{name: "hostname in c=", offer: offerSDP("c=IN IP4 media.example.com", "m=audio 4000 RTP/AVP 0"), err: errAny},
		{name: "IP4 type with IPv6 address", offer: offerSDP("c=IN IP4 2001:db8::1", "m=audio 4000 RTP/AVP 0"), err: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := testLocal
			if tt.local != nil {
				tt.local(&l)
			}
			answer, m, err := Answer(tt.offer, l)
			switch {
			case tt.err == errAny:
				if err == nil {
					t.Fatalf("no error; answer:\n%s", answer)
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
			var a sdp.SessionDescription
			if err := a.Unmarshal(answer); err != nil {
				t.Fatalf("answer does not parse: %v\n%s", err, answer)
			}
			if tt.check != nil {
				tt.check(t, string(answer))
			}
		})
	}
}

var errAny = errors.New("any error")

func TestAnswerMalformed(t *testing.T) {
	for _, in := range []string{
		"",
		"   \r\n",
		"hello",
		"v=0",
		"v=1\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n",
		"o=- 1 1 IN IP4 192.0.2.1\r\nv=0\r\n",
		"v=0\r\no=- x y IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n",
		"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio\r\n",
		"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio notaport RTP/AVP 0\r\n",
	} {
		_, _, err := Answer([]byte(in), testLocal)
		if err == nil {
			t.Errorf("Answer(%q): no error", in)
			continue
		}
		if errors.Is(err, ErrNoCommonCodec) {
			continue // parsed, but nothing to use: also fine
		}
		if !strings.HasPrefix(err.Error(), "offer: ") {
			t.Errorf("Answer(%q): error %q lacks the package prefix", in, err)
		}
	}
}

func TestAnswerLocalValidation(t *testing.T) {
	offer := readFixture(t, "baresip-1.0.sdp")
	if _, _, err := Answer(offer, Local{Port: 10002}); err == nil {
		t.Error("no error for a missing local address")
	}
	if _, _, err := Answer(offer, Local{Addr: testLocal.Addr}); err == nil {
		t.Error("no error for a missing local port")
	}
}

// TestAnswerLFOnly accepts bodies with bare LF line ends, as some stacks
// and log copies have them.
func TestAnswerLFOnly(t *testing.T) {
	offer := bytes.ReplaceAll(readFixture(t, "zoiper-5.3.8.sdp"), []byte("\r\n"), []byte("\n"))
	_, m, err := Answer(offer, testLocal)
	if err != nil {
		t.Fatal(err)
	}
	if m.Codec != "PCMU" || m.DTMFType != 101 {
		t.Errorf("media %+v", m)
	}
}

func TestUserAgentDefaultsAndSanitizing(t *testing.T) {
	offer := readFixture(t, "baresip-1.0.sdp")
	l := testLocal
	l.UserAgent = "Switchboard IVR\r\na=evil"
	answer, _, err := Answer(offer, l)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(answer, []byte("o=Switchboard-IVRa=evil 123 124 IN IP4")) || !bytes.Contains(answer, []byte("s=Switchboard IVRa=evil\r\n")) {
		t.Errorf("user agent not sanitized:\n%s", answer)
	}
	var a sdp.SessionDescription
	if err := a.Unmarshal(answer); err != nil {
		t.Fatal(err)
	}
}

func TestSessionVersion(t *testing.T) {
	offer := readFixture(t, "baresip-1.0.sdp")
	hold := readFixture(t, "baresip-1.0-hold-sendonly.sdp")

	l := Local{Addr: testLocal.Addr, Port: 10002, SessionID: 42, Version: 1}
	first, _, err := Answer(offer, l)
	if err != nil {
		t.Fatal(err)
	}
	l = l.NextVersion()
	second, m, err := Answer(hold, l)
	if err != nil {
		t.Fatal(err)
	}
	if m.Direction != RecvOnly {
		t.Errorf("hold answered %v, want recvonly", m.Direction)
	}
	var a1, a2 sdp.SessionDescription
	if err := a1.Unmarshal(first); err != nil {
		t.Fatal(err)
	}
	if err := a2.Unmarshal(second); err != nil {
		t.Fatal(err)
	}
	if a1.Origin.SessionID != 42 || a2.Origin.SessionID != 42 {
		t.Errorf("session id changed: %d, %d", a1.Origin.SessionID, a2.Origin.SessionID)
	}
	if a2.Origin.SessionVersion != a1.Origin.SessionVersion+1 {
		t.Errorf("version %d then %d, want +1", a1.Origin.SessionVersion, a2.Origin.SessionVersion)
	}
	if l.Version != 2 {
		t.Errorf("NextVersion: %d, want 2", l.Version)
	}
}
