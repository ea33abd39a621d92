package offer

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Media is what was agreed for the call's audio stream.
type Media struct {
	Remote      netip.AddrPort // peer's RTP address from c= and m= (port 0 = stream rejected/disabled)
	PayloadType uint8          // 0 or 8
	Codec       string         // "PCMU" or "PCMA"
	DTMFType    uint8          // telephone-event PT, 0 if the peer offered none
	Ptime       int            // ms the peer asked for (a=ptime), default 20
	Direction   Direction      // OUR direction after negotiation (what we may do)
	RemoteRTCP  netip.AddrPort // from a=rtcp if present, else Remote port+1
}

// Local describes our side of the session.
type Local struct {
	Addr      netip.Addr // address to advertise in c=/o= (media.public_address if set, else the bound IP)
	Port      int        // our RTP port
	SessionID uint64     // o= sess-id, stays constant for the dialog
	Version   uint64     // o= sess-version, incremented by us on each new SDP we send with changes (RFC 3264 §8)
	Codecs    []string   // our preference order, default {"PCMU","PCMA"}
	UserAgent string     // used in o= username / s= ; default "switchboard"
}

// NextVersion returns l with Version incremented. Use it for every SDP
// after the first that changes the session (RFC 3264 §8: the version in o=
// goes up by one when anything changes; an unchanged re-send keeps it).
func (l Local) NextVersion() Local {
	l.Version++
	return l
}

// ErrNoCommonCodec means the offer (or answer) has no stream we can use:
// no PCMU/PCMA we support, or only SRTP or non-audio streams. The caller
// answers 488 Not Acceptable Here (with a Warning header). The wrapped
// message says why.
var ErrNoCommonCodec = errors.New("offer: no common codec")

// DefaultPtime is the packet time we use when the peer asks for none or for
// one we do not support.
const DefaultPtime = 20

// DTMFPayloadType is the telephone-event payload type we put in our offers.
const DTMFPayloadType = 101

const (
	defaultUserAgent = "switchboard"
	profileAVP       = "RTP/AVP"
	profileAVPF      = "RTP/AVPF"
)

// Answer reads a remote offer and builds our answer.
//
// Codec: the first payload type in the offer's m= line that is PCMU/8000 or
// PCMA/8000 and listed in local.Codecs wins. The offerer's order decides,
// not ours: RFC 3264 §6.1 says the answerer SHOULD keep the offerer's
// preference, and it avoids a re-INVITE storm with peers that insist on
// their first choice. local.Codecs only says what we accept.
//
// telephone-event/8000 is answered at the offer's payload type with the
// offer's fmtp; other clock rates (e.g. /48000 next to opus) are ignored.
//
// Direction is mirrored (RFC 3264 §6.1): sendonly → recvonly, recvonly →
// sendonly, inactive → inactive, sendrecv or none → sendrecv. An offer
// whose connection address is 0.0.0.0 (or ::) is the RFC 2543 hold form
// (RFC 3264 §8.4 keeps it readable): the peer cannot receive, so we do not
// send. Media-level c= and direction attributes override session-level
// ones (RFC 4566 §5.7, §6).
//
// Media.Ptime is the offer's a=ptime if it is 10–60 ms and a multiple of
// 10, else DefaultPtime; the answer always says DefaultPtime, the packet
// time we send.
//
// Every m= line gets an m= line in the answer, in the same order (RFC 3264
// §6): the first usable audio stream is accepted, all others (video, extra
// audio, SRTP) are rejected with port 0. If no stream is usable the error
// wraps ErrNoCommonCodec.
func Answer(offer []byte, local Local) (answer []byte, m Media, err error) {
	if !local.Addr.IsValid() {
		return nil, Media{}, errors.New("offer: local address not set")
	}
	if local.Port <= 0 || local.Port > 65535 {
		return nil, Media{}, fmt.Errorf("offer: local port %d out of range", local.Port)
	}
	sd, err := parse(offer)
	if err != nil {
		return nil, Media{}, err
	}
	supported := supportedCodecs(local.Codecs)

	chosen := -1
	var st stream
	var why error // why the first unusable audio stream was refused
	for i, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "audio" {
			continue
		}
		s, err := readStream(sd, md, supported)
		if err != nil {
			if why == nil {
				why = err
			}
			continue
		}
		chosen, st = i, s
		break
	}
	if chosen < 0 {
		if why == nil {
			why = fmt.Errorf("%w: offer has no audio stream", ErrNoCommonCodec)
		}
		return nil, Media{}, why
	}

	m = st.media
	m.Direction = st.peerDir.Reverse()

	var b sdpWriter
	b.session(local)
	for i, md := range sd.MediaDescriptions {
		if i != chosen {
			b.rejected(md)
			continue
		}
		b.line("m=audio ", strconv.Itoa(local.Port), " ", st.proto, " ", formats(m.PayloadType, st.dtmf))
		b.rtpmaps(m.PayloadType, m.Codec, st.dtmf, st.dtmfFmtp)
		// We send 20 ms packets whatever the offer prefers (its a=ptime is
		// a preference, RFC 3264 §6.1); the answer says what we send, and
		// we receive any packet time.
		b.line("a=ptime:", strconv.Itoa(DefaultPtime))
		b.line("a=", m.Direction.String())
	}
	return b.bytes(), m, nil
}

// Offer builds our offer, for an INVITE that arrived without SDP: our 200 OK
// carries the offer and the ACK the answer (RFC 3261 §13.2.1). It lists
// local.Codecs (default PCMU, PCMA), telephone-event/8000 at
// DTMFPayloadType with fmtp 0-16, ptime 20 and sendrecv.
//
// Offer does not validate local; an invalid Addr is written as 0.0.0.0.
func Offer(local Local) []byte {
	codecs := supportedCodecs(local.Codecs)
	var b sdpWriter
	b.session(local)
	fmts := make([]string, 0, len(codecs)+1)
	for _, c := range codecs {
		fmts = append(fmts, strconv.Itoa(int(c.pt)))
	}
	fmts = append(fmts, strconv.Itoa(DTMFPayloadType))
	b.line("m=audio ", strconv.Itoa(local.Port), " ", profileAVP, " ", strings.Join(fmts, " "))
	for _, c := range codecs {
		b.line("a=rtpmap:", strconv.Itoa(int(c.pt)), " ", c.name, "/8000")
	}
	b.line("a=rtpmap:", strconv.Itoa(DTMFPayloadType), " telephone-event/8000")
	b.line("a=fmtp:", strconv.Itoa(DTMFPayloadType), " 0-16")
	b.line("a=ptime:", strconv.Itoa(DefaultPtime))
	b.line("a=", SendRecv.String())
	return b.bytes()
}

// ParseAnswer reads the peer's answer to our Offer (in the ACK). The codec
// is the first PCMU/PCMA in the answer that local.Codecs accepts, DTMFType
// the answer's telephone-event/8000 payload type (RFC 3264 §6.1 asks the
// answerer to keep ours, but the one it names is the one it receives).
// Media.Direction is the reverse of the answer's direction.
//
// A rejected audio stream (port 0) or an answer without PCMU/PCMA returns
// an error wrapping ErrNoCommonCodec; the caller ends the call with BYE.
func ParseAnswer(answer []byte, local Local) (Media, error) {
	sd, err := parse(answer)
	if err != nil {
		return Media{}, err
	}
	// We offer exactly one m= line; the answer has exactly one too
	// (RFC 3264 §6), but read the first audio line to be lenient.
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "audio" {
			continue
		}
		if md.MediaName.Port.Value == 0 {
			return Media{}, fmt.Errorf("%w: answer rejected the audio stream", ErrNoCommonCodec)
		}
		if p := strings.Join(md.MediaName.Protos, "/"); p != profileAVP {
			return Media{}, fmt.Errorf("offer: answer uses transport %q, we offered %s", p, profileAVP)
		}
		st, err := readStream(sd, md, supportedCodecs(local.Codecs))
		if err != nil {
			return Media{}, err
		}
		m := st.media
		m.Direction = st.peerDir.Reverse()
		return m, nil
	}
	return Media{}, fmt.Errorf("%w: answer has no audio stream", ErrNoCommonCodec)
}

// codec is a G.711 variant we can use.
type codec struct {
	name string // "PCMU" or "PCMA"
	pt   uint8  // static payload type (RFC 3551 §6)
}

var g711 = []codec{{"PCMU", 0}, {"PCMA", 8}}

// supportedCodecs turns Local.Codecs into the codecs we accept, in that
// order; unknown names are ignored and an empty result means the default.
func supportedCodecs(names []string) []codec {
	var out []codec
	for _, n := range names {
		for _, c := range g711 {
			if strings.EqualFold(n, c.name) && !hasCodec(out, c.name) {
				out = append(out, c)
			}
		}
	}
	if len(out) == 0 {
		return g711
	}
	return out
}

func hasCodec(cs []codec, name string) bool {
	for _, c := range cs {
		if c.name == name {
			return true
		}
	}
	return false
}

// stream is what readStream found in one usable audio m= line.
type stream struct {
	media    Media     // Remote, RemoteRTCP, PayloadType, Codec, DTMFType, Ptime
	peerDir  Direction // the peer's direction, after the c=0.0.0.0 rule
	proto    string    // "RTP/AVP" or "RTP/AVPF", echoed in the answer
	dtmf     int       // telephone-event PT, -1 if none
	dtmfFmtp string    // its fmtp value, "" if none
}

// readStream checks whether md is an audio stream we can use and reads it.
// Its errors explain why not; those about codecs or transport wrap
// ErrNoCommonCodec.
func readStream(sd *sdp.SessionDescription, md *sdp.MediaDescription, supported []codec) (stream, error) {
	name := md.MediaName
	if name.Media != "audio" {
		return stream{}, fmt.Errorf("%w: %s stream is not audio", ErrNoCommonCodec, name.Media)
	}
	if name.Port.Value == 0 {
		return stream{}, fmt.Errorf("%w: audio stream disabled by the peer (port 0)", ErrNoCommonCodec)
	}
	if name.Port.Value < 0 || name.Port.Value > 65535 {
		return stream{}, fmt.Errorf("offer: audio port %d out of range", name.Port.Value)
	}
	proto := strings.Join(name.Protos, "/")
	if proto != profileAVP && proto != profileAVPF {
		// RTP/SAVP, RTP/SAVPF, UDP/TLS/RTP/SAVPF: we do not do SRTP.
		return stream{}, fmt.Errorf("%w: transport %s not supported (plain RTP/AVP only)", ErrNoCommonCodec, proto)
	}

	maps := rtpmaps(md)
	st := stream{proto: proto, dtmf: -1}
	found := false
	for _, f := range name.Formats {
		pt, ok := parsePT(f)
		if !ok {
			continue
		}
		enc, known := maps[pt]
		if !known {
			// RFC 3551 §6: static payload types need no rtpmap.
			switch pt {
			case 0:
				enc = rtpmap{"PCMU", 8000, ""}
			case 8:
				enc = rtpmap{"PCMA", 8000, ""}
			}
		}
		if !found && enc.rate == 8000 && (enc.channels == "" || enc.channels == "1") {
			for _, c := range supported {
				if strings.EqualFold(enc.name, c.name) {
					st.media.PayloadType, st.media.Codec, found = pt, c.name, true
					break
				}
			}
		}
		if st.dtmf < 0 && strings.EqualFold(enc.name, "telephone-event") && enc.rate == 8000 && pt != 0 && pt != 8 {
			st.dtmf = int(pt)
			st.dtmfFmtp = dtmfEvents(fmtp(md, pt))
		}
	}
	if !found {
		return stream{}, fmt.Errorf("%w: no PCMU/PCMA in m=%s %s", ErrNoCommonCodec, name.Media, strings.Join(name.Formats, " "))
	}
	if st.dtmf >= 0 {
		st.media.DTMFType = uint8(st.dtmf)
	}

	addr, err := connectionAddr(sd, md)
	if err != nil {
		return stream{}, err
	}
	port := uint16(name.Port.Value)
	st.media.Remote = netip.AddrPortFrom(addr, port)
	st.media.RemoteRTCP = rtcpAddr(md, addr, port)
	st.media.Ptime = ptime(sd, md)

	st.peerDir = direction(sd, md)
	if addr.IsUnspecified() {
		st.peerDir = st.peerDir.withoutRecv()
	}
	return st, nil
}

// rtpmap is one a=rtpmap value: <encoding name>/<clock rate>[/<channels>].
type rtpmap struct {
	name     string
	rate     int
	channels string
}

// rtpmaps collects the a=rtpmap attributes of md by payload type; the first
// one for a payload type wins.
func rtpmaps(md *sdp.MediaDescription) map[uint8]rtpmap {
	out := make(map[uint8]rtpmap, len(md.MediaName.Formats))
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		ptStr, enc, ok := strings.Cut(strings.TrimSpace(a.Value), " ")
		if !ok {
			continue
		}
		pt, ok := parsePT(ptStr)
		if !ok {
			continue
		}
		if _, dup := out[pt]; dup {
			continue
		}
		parts := strings.Split(strings.TrimSpace(enc), "/")
		if len(parts) < 2 {
			continue
		}
		rate, err := strconv.Atoi(parts[1])
		if err != nil {
			continue
		}
		r := rtpmap{name: parts[0], rate: rate}
		if len(parts) > 2 {
			r.channels = parts[2]
		}
		out[pt] = r
	}
	return out
}

// fmtp returns the a=fmtp value for pt in md, "" if none.
func fmtp(md *sdp.MediaDescription, pt uint8) string {
	want := strconv.Itoa(int(pt))
	for _, a := range md.Attributes {
		if a.Key != "fmtp" {
			continue
		}
		p, v, ok := strings.Cut(strings.TrimSpace(a.Value), " ")
		if ok && p == want {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// dtmfEvents returns v if it is a plausible RFC 4733 §7.1.1 event list
// ("0-15", "0-16", "0-15,66,70"), else "". We echo it in our answer, so
// nothing else from the peer gets into our SDP.
func dtmfEvents(v string) string {
	if v == "" || len(v) > 64 {
		return ""
	}
	for _, r := range v {
		if (r < '0' || r > '9') && r != '-' && r != ',' {
			return ""
		}
	}
	return v
}

// parsePT reads an RTP payload type (0–127).
func parsePT(s string) (uint8, bool) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 127 {
		return 0, false
	}
	return uint8(n), true
}

// connectionAddr returns the media-level c= address, else the session-level
// one (RFC 4566 §5.7).
func connectionAddr(sd *sdp.SessionDescription, md *sdp.MediaDescription) (netip.Addr, error) {
	ci := md.ConnectionInformation
	if ci == nil || ci.Address == nil {
		ci = sd.ConnectionInformation
	}
	if ci == nil || ci.Address == nil {
		return netip.Addr{}, errors.New("offer: no connection address (c=) for the audio stream")
	}
	if ci.NetworkType != "IN" {
		return netip.Addr{}, fmt.Errorf("offer: connection network type %q not supported", ci.NetworkType)
	}
	addr, err := netip.ParseAddr(ci.Address.Address)
	if err != nil {
		// RFC 4566 allows an FQDN here; we do not resolve names.
		return netip.Addr{}, fmt.Errorf("offer: connection address %q is not an IP address", ci.Address.Address)
	}
	switch ci.AddressType {
	case "IP4":
		if !addr.Unmap().Is4() {
			return netip.Addr{}, fmt.Errorf("offer: connection address %q is not IPv4", ci.Address.Address)
		}
		addr = addr.Unmap()
	case "IP6":
		if !addr.Is6() {
			return netip.Addr{}, fmt.Errorf("offer: connection address %q is not IPv6", ci.Address.Address)
		}
	default:
		return netip.Addr{}, fmt.Errorf("offer: connection address type %q not supported", ci.AddressType)
	}
	return addr, nil
}

// rtcpAddr reads a=rtcp:<port> [IN IP4 <addr>] (RFC 3605); without it RTCP
// goes to the RTP port + 1 (RFC 3550 §11). a=rtcp-mux is not answered, so
// the peer keeps RTCP on its own port.
func rtcpAddr(md *sdp.MediaDescription, addr netip.Addr, port uint16) netip.AddrPort {
	def := netip.AddrPortFrom(addr, port+1)
	if port == 65535 {
		def = netip.AddrPortFrom(addr, 0)
	}
	v, ok := md.Attribute("rtcp")
	if !ok {
		return def
	}
	f := strings.Fields(v)
	if len(f) == 0 {
		return def
	}
	p, err := strconv.ParseUint(f[0], 10, 16)
	if err != nil || p == 0 {
		return def
	}
	if len(f) >= 4 && f[1] == "IN" {
		if a, err := netip.ParseAddr(f[3]); err == nil {
			addr = a.Unmap()
		}
	}
	return netip.AddrPortFrom(addr, uint16(p))
}

// ptime reads a=ptime (media level, else session level) and keeps it if it
// is 10–60 ms in steps of 10, which every G.711 stack handles; otherwise
// DefaultPtime.
func ptime(sd *sdp.SessionDescription, md *sdp.MediaDescription) int {
	v, ok := md.Attribute("ptime")
	if !ok {
		v, ok = sd.Attribute("ptime")
	}
	if !ok {
		return DefaultPtime
	}
	v = strings.TrimSpace(v)
	n, err := strconv.Atoi(v)
	if err != nil {
		// Some stacks write "20.0".
		f, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil || f != float64(int(f)) {
			return DefaultPtime
		}
		n = int(f)
	}
	if n < 10 || n > 60 || n%10 != 0 {
		return DefaultPtime
	}
	return n
}

// direction returns the peer's direction for md: a media-level attribute
// wins over a session-level one, and none means sendrecv (RFC 3264 §5.1).
func direction(sd *sdp.SessionDescription, md *sdp.MediaDescription) Direction {
	for _, a := range md.Attributes {
		if d, ok := parseDirection(a.Key); ok {
			return d
		}
	}
	for _, a := range sd.Attributes {
		if d, ok := parseDirection(a.Key); ok {
			return d
		}
	}
	return SendRecv
}

// parse unmarshals an SDP body. Bodies from the network are untrusted, so a
// panic inside the parser becomes an error rather than taking the server
// down with it.
func parse(body []byte) (sd *sdp.SessionDescription, err error) {
	text := strings.TrimSpace(string(body))
	if text == "" {
		return nil, errors.New("offer: parse sdp: empty body")
	}
	defer func() {
		if r := recover(); r != nil {
			sd, err = nil, fmt.Errorf("offer: parse sdp: parser panic: %v", r)
		}
	}()
	sd = &sdp.SessionDescription{}
	if err := sd.UnmarshalString(text + "\r\n"); err != nil {
		return nil, fmt.Errorf("offer: parse sdp: %w", err)
	}
	return sd, nil
}

// formats is the m= format list of our answer.
func formats(pt uint8, dtmf int) string {
	s := strconv.Itoa(int(pt))
	if dtmf >= 0 {
		s += " " + strconv.Itoa(dtmf)
	}
	return s
}

// sdpWriter writes SDP lines with CRLF endings (RFC 4566 §5).
type sdpWriter struct{ b strings.Builder }

func (w *sdpWriter) line(parts ...string) {
	for _, p := range parts {
		w.b.WriteString(p)
	}
	w.b.WriteString("\r\n")
}

func (w *sdpWriter) bytes() []byte { return []byte(w.b.String()) }

// session writes v=, o=, s=, c= and t=.
func (w *sdpWriter) session(l Local) {
	ua := sanitize(l.UserAgent)
	if ua == "" {
		ua = defaultUserAgent
	}
	username := strings.ReplaceAll(ua, " ", "-")
	addrType, addr := "IP4", "0.0.0.0"
	if l.Addr.IsValid() {
		a := l.Addr.Unmap()
		if a.Is6() {
			addrType = "IP6"
		}
		addr = a.WithZone("").String()
	}
	w.line("v=0")
	w.line("o=", username, " ", strconv.FormatUint(l.SessionID, 10), " ", strconv.FormatUint(l.Version, 10), " IN ", addrType, " ", addr)
	w.line("s=", ua)
	w.line("c=IN ", addrType, " ", addr)
	w.line("t=0 0")
}

// rtpmaps writes the rtpmap and fmtp lines of an accepted audio stream.
func (w *sdpWriter) rtpmaps(pt uint8, codec string, dtmf int, dtmfFmtp string) {
	w.line("a=rtpmap:", strconv.Itoa(int(pt)), " ", codec, "/8000")
	if dtmf < 0 {
		return
	}
	d := strconv.Itoa(dtmf)
	w.line("a=rtpmap:", d, " telephone-event/8000")
	if dtmfFmtp != "" {
		w.line("a=fmtp:", d, " ", dtmfFmtp)
	}
}

// rejected writes an m= line that refuses md: same media and transport,
// port 0 and one of the offered formats (RFC 3264 §6; RFC 4566 needs at
// least one format).
func (w *sdpWriter) rejected(md *sdp.MediaDescription) {
	media := sanitizeToken(md.MediaName.Media, "audio")
	proto := sanitizeToken(strings.Join(md.MediaName.Protos, "/"), profileAVP)
	format := "0"
	if len(md.MediaName.Formats) > 0 {
		format = sanitizeToken(md.MediaName.Formats[0], "0")
	}
	w.line("m=", media, " 0 ", proto, " ", format)
}

// sanitize drops control characters so a configured name cannot break
// the SDP's line structure.
func sanitize(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s))
}

// sanitizeToken returns s if it is a non-empty run of visible ASCII without
// spaces (an SDP token), else def.
func sanitizeToken(s, def string) string {
	if s == "" {
		return def
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] >= 0x7f {
			return def
		}
	}
	return s
}
