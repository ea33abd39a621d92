package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/asr"
	"github.com/switchboard-voice/switchboard/internal/offer"
	"github.com/switchboard-voice/switchboard/internal/speech"
	"github.com/switchboard-voice/switchboard/ivr"
	"github.com/switchboard-voice/switchboard/media"
)

// Call is one answered call: its dialog, its media session and the
// goroutine that owns both. It implements ivr.Call for the flow engine;
// Play, Listen and Hangup are meant to be called from the handler's
// goroutine only.
type Call struct {
	srv      *Server
	lis      *listener
	log      *slog.Logger
	info     ivr.Info
	callID   string
	dialogID string
	localTag string
	invite   *gosip.Request
	started  time.Time

	ctx    context.Context // cancelled when the call ends, for whatever reason
	cancel context.CancelCauseFunc

	media *media.Session

	mu         sync.Mutex    // guards what re-INVITE, BYE and the flow share below
	local      offer.Local   // our SDP parameters; Version moves on when our SDP changes
	lastSDP    []byte        // body of our last SDP, to tell whether it changed
	wantAck    uint32        // CSeq of the INVITE whose ACK we wait for
	ackCh      chan []byte   // body of that ACK
	offered    bool          // our 2xx carried an offer; the ACK brings the answer
	remoteCSeq uint32        // highest CSeq seen from the caller
	localCSeq  uint32        // CSeq of our last request in the dialog
	desc       offer.Media   // what was agreed for the media
	ended      bool          // BYE sent or received
	endReason  string        // why the call ended, for the log
	byeSent    chan struct{} // closed once our BYE has completed (or failed)
	byeRecv    chan struct{} // closed when the caller's BYE arrives
	byeOnce    sync.Once
	transfer   *referWait // the Transfer waiting for NOTIFYs, if any

	localIP  netip.Addr // where the caller reaches us (Contact host)
	infoKeys chan byte  // DTMF from SIP INFO
	pending  []byte     // keys that arrived during a prompt that could not be interrupted

	listener  *asr.Listener // the caller's audio, VAD applied
	frames    []asr.Frame   // scratch for the frames a turn takes
	turnStart time.Time
}

var _ ivr.Call = (*Call)(nil)

// Info describes the call (Call-ID, From, To, Request-URI, caller, called).
func (c *Call) Info() ivr.Info { return c.info }

// Logger returns the call's logger, which carries call_id on every line.
func (c *Call) Logger() *slog.Logger { return c.log }

// Media returns the call's media session.
func (c *Call) Media() *media.Session { return c.media }

// Context is cancelled when the call ends.
func (c *Call) Context() context.Context { return c.ctx }

func callInfo(req *gosip.Request) ivr.Info {
	info := ivr.Info{
		CallID:     string(*req.CallID()),
		From:       req.From().Address.String(),
		To:         req.To().Address.String(),
		RequestURI: req.Recipient.String(),
		Caller:     req.From().Address.User,
		Called:     req.Recipient.User,
	}
	if h := req.GetHeader("P-Asserted-Identity"); h != nil {
		var u gosip.Uri
		var p gosip.HeaderParams
		if _, err := gosip.ParseAddressValue(h.Value(), &u, &p); err == nil && u.User != "" {
			info.Caller = u.User
		}
	}
	if info.Called == "" {
		info.Called = req.To().Address.User
	}
	return info
}

// onInvite answers a new call, or a re-INVITE inside one. It runs on the
// transaction's own goroutine and, for a new call, stays there as the
// call's owner until the call has ended and everything it held is freed.
func (s *Server) onInvite(l *listener, req *gosip.Request, tx gosip.ServerTransaction) {
	if code, reason := checkRequest(req); code != 0 {
		respond(tx, req, code, reason)
		return
	}
	if to := req.To(); to.Params != nil && to.Params.Has("tag") {
		if c := s.findDialog(req); c != nil {
			c.onReinvite(req, tx)
			return
		}
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	info := callInfo(req)
	log := s.log.With("call_id", info.CallID, "from", info.From, "to", info.To, "ruri", info.RequestURI)
	body := req.Body()
	if len(body) > 0 {
		if ct := req.ContentType(); ct == nil || !strings.HasPrefix(strings.ToLower(ct.Value()), "application/sdp") {
			respond(tx, req, 415, "Unsupported Media Type", gosip.NewHeader("Accept", "application/sdp"))
			return
		}
	}
	if code, reason := s.admit(info.CallID); code != 0 {
		log.Warn("call refused", "code", code, "reason", reason)
		respond(tx, req, code, reason, gosip.NewHeader("Retry-After", "30"))
		return
	}
	handler, ok := s.opts.Route(info)
	if !ok {
		log.Warn("no route for call", "called", info.Called)
		respond(tx, req, 404, "Not Found")
		return
	}
	respond(tx, req, 100, "Trying")

	localIP := l.localAddrFor(req.Source())
	mediaIP := localIP
	if s.opts.MediaAddress.IsValid() {
		mediaIP = s.opts.MediaAddress
	}
	local := offer.Local{Addr: mediaIP, SessionID: uint64(time.Now().UnixNano()) & 0x7fffffffffff, Version: 1, UserAgent: "switchboard"}

	rtpConn, rtcpConn, err := s.opts.Ports.Listen(s.opts.MediaBind)
	if err != nil {
		log.Error("no rtp port for call", "error", err)
		respond(tx, req, 503, "Service Unavailable", gosip.NewHeader("Retry-After", "5"))
		return
	}
	local.Port = int(rtpConn.LocalAddr().(*net.UDPAddr).Port)

	var sdpBody []byte
	var m offer.Media
	offered := len(body) == 0
	if offered {
		sdpBody = offer.Offer(local)
		// Until the ACK brings the answer we send PCMU to where the
		// INVITE came from; symmetric RTP corrects it on the first packet.
		m = offer.Media{PayloadType: media.PayloadPCMU, Direction: offer.SendRecv}
	} else {
		sdpBody, m, err = offer.Answer(body, local)
		if err != nil {
			rtpConn.Close()
			rtcpConn.Close()
			s.opts.Ports.Release(local.Port)
			if errors.Is(err, offer.ErrNoCommonCodec) {
				log.Warn("no common codec", "error", err)
				respond(tx, req, 488, "Not Acceptable Here", gosip.NewHeader("Warning", `305 switchboard "Incompatible media format: PCMU or PCMA required"`))
			} else {
				log.Warn("bad sdp offer", "error", err)
				respond(tx, req, 400, "Bad Request (SDP)")
			}
			return
		}
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	c := &Call{
		srv:        s,
		lis:        l,
		log:        log,
		info:       info,
		callID:     info.CallID,
		localTag:   gosip.GenerateTagN(16),
		invite:     req,
		started:    time.Now(),
		ctx:        ctx,
		cancel:     cancel,
		local:      local,
		lastSDP:    sdpBody,
		wantAck:    req.CSeq().SeqNo,
		ackCh:      make(chan []byte, 1),
		offered:    offered,
		remoteCSeq: req.CSeq().SeqNo,
		byeSent:    make(chan struct{}),
		byeRecv:    make(chan struct{}),
		infoKeys:   make(chan byte, 32),
		localIP:    localIP,
		desc:       m,
		localCSeq:  1,
	}
	c.dialogID = gosip.DialogIDMake(c.callID, c.localTag, req.From().Params.GetOr("tag", ""))
	c.media = media.NewSession(rtpConn, rtcpConn, s.opts.Ports, s.opts.Clock, media.Config{
		Remote:      m.Remote,
		PayloadType: m.PayloadType,
		DTMFType:    m.DTMFType,
		Timeout:     s.opts.MediaTimeout,
		Logger:      log,
	})
	// With a late offer there is no address until the ACK's answer or the
	// first RTP packet; the session sends nothing until it has one.
	c.media.SetDirection(m.Direction.Send(), m.Direction.Recv())
	c.listener = asr.NewListener(s.opts.VAD)
	c.media.OnAudio(c.listener.Feed)

	s.wg.Add(1)
	s.addCall(c)
	defer s.wg.Done()
	c.run(tx, handler)
}

// run is the call's owner: answer, wait for the ACK, run the handler, and
// end the call whichever way it ends. Everything the call holds is freed
// before it returns.
func (c *Call) run(tx gosip.ServerTransaction, handler Handler) {
	defer c.cleanup()
	tx.OnCancel(func(*gosip.Request) { c.cancel(errCancelled) })
	c.media.Start()
	if ring := c.srv.opts.Ring; ring > 0 {
		ringing := gosip.NewResponseFromRequest(c.invite, 180, "Ringing", nil)
		ringing.To().Params.Add("tag", c.localTag)
		ringing.AppendHeader(c.lis.contact(c.localIP))
		if err := tx.Respond(ringing); err != nil {
			c.endReason = "ringing failed"
			return
		}
		t := time.NewTimer(ring)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			// CANCEL: the transaction layer has answered it 200 and the
			// INVITE 487 (RFC 3261 §9.2).
			t.Stop()
			c.endReason = context.Cause(c.ctx).Error()
			return
		}
	}

	res := c.okResponse(c.invite, c.lastSDP)
	if err := tx.Respond(res); err != nil {
		c.log.Warn("answer failed", "error", err)
		c.endReason = "answer failed"
		return
	}
	c.mu.Lock()
	codec := c.desc.Codec
	c.mu.Unlock()
	c.log.Info("call answered", "caller", c.info.Caller, "called", c.info.Called,
		"codec", codec, "rtp_local", c.media.LocalAddr().String())

	ackBody, ok := c.awaitAck(tx, res)
	if !ok {
		return
	}
	if c.offered {
		if err := c.readAnswer(ackBody); err != nil {
			c.log.Warn("no usable sdp answer in ack", "error", err)
			c.bye("no sdp answer in ack")
			return
		}
	}

	handlerDone := make(chan struct{})
	go func() {
		defer close(handlerDone)
		handler(c.ctx, c)
	}()
	select {
	case <-handlerDone:
		c.bye("flow ended")
	case <-c.byeRecv:
	case <-c.media.Timeout():
		c.log.Warn("no rtp received", "timeout", c.srv.opts.MediaTimeout.String())
		c.bye("rtp timeout")
	case <-c.ctx.Done():
		// end() was called: server shutdown, or Hangup on another goroutine.
		c.bye(context.Cause(c.ctx).Error())
	}
	c.cancel(errors.New("call ended"))
	<-handlerDone
}

var errCancelled = errors.New("cancelled by caller")

// awaitAck retransmits the 2xx until its ACK arrives (RFC 3261 §13.3.1.4;
// the transaction layer does not, RFC 6026 §7.1). Without an ACK after
// 64*T1 the session is ended with a BYE.
func (c *Call) awaitAck(tx gosip.ServerTransaction, res *gosip.Response) ([]byte, bool) {
	reliable := gosip.IsReliable(c.invite.Transport())
	interval := gosip.T1
	retrans := time.NewTimer(interval)
	defer retrans.Stop()
	giveUp := time.NewTimer(64 * gosip.T1)
	defer giveUp.Stop()
	for {
		select {
		case body := <-c.ackCh:
			return body, true
		case req := <-tx.Acks():
			// A peer that reused the INVITE's branch for its ACK.
			return req.Body(), true
		case <-retrans.C:
			if !reliable {
				if err := tx.Respond(res); err != nil {
					c.log.Debug("2xx retransmission failed", "error", err)
				}
			}
			interval = min(2*interval, gosip.T2)
			retrans.Reset(interval)
		case <-giveUp.C:
			c.log.Warn("no ack for 200 ok")
			c.bye("no ack")
			return nil, false
		case <-c.byeRecv:
			return nil, false
		case <-c.ctx.Done():
			c.bye(context.Cause(c.ctx).Error())
			return nil, false
		}
	}
}

func (c *Call) readAck(req *gosip.Request) {
	c.mu.Lock()
	want := c.wantAck
	c.mu.Unlock()
	if req.CSeq().SeqNo != want {
		return // a retransmitted ACK of an earlier exchange
	}
	select {
	case c.ackCh <- req.Body():
	default:
	}
}

// readAnswer applies the SDP answer an ACK carried to our offer.
func (c *Call) readAnswer(body []byte) error {
	if len(body) == 0 {
		return errors.New("ack has no body")
	}
	c.mu.Lock()
	local := c.local
	c.mu.Unlock()
	m, err := offer.ParseAnswer(body, local)
	if err != nil {
		return err
	}
	c.applyMedia(m)
	return nil
}

func (c *Call) applyMedia(m offer.Media) {
	c.mu.Lock()
	c.desc = m
	c.mu.Unlock()
	c.media.SetRemote(m.Remote, m.PayloadType, m.DTMFType)
	c.media.SetDirection(m.Direction.Send(), m.Direction.Recv())
	c.log.Info("media", "remote", m.Remote.String(), "codec", m.Codec, "dtmf_pt", m.DTMFType, "direction", m.Direction.String())
}

// onReinvite answers a re-INVITE: hold, resume, a new address or codec
// (RFC 3264 §8). Media keeps flowing; an offer we cannot take leaves the
// session as it was (488).
func (c *Call) onReinvite(req *gosip.Request, tx gosip.ServerTransaction) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	if req.CSeq().SeqNo <= c.remoteCSeq {
		c.mu.Unlock()
		respond(tx, req, 500, "Server Internal Error (CSeq out of order)")
		return
	}
	c.remoteCSeq = req.CSeq().SeqNo
	local := c.local
	c.mu.Unlock()

	body := req.Body()
	var sdp []byte
	var m offer.Media
	var err error
	offered := len(body) == 0
	if offered {
		sdp = offer.Offer(local)
	} else {
		sdp, m, err = offer.Answer(body, local)
		if err != nil {
			c.log.Warn("re-invite refused", "error", err)
			if errors.Is(err, offer.ErrNoCommonCodec) {
				respond(tx, req, 488, "Not Acceptable Here")
			} else {
				respond(tx, req, 400, "Bad Request (SDP)")
			}
			return
		}
	}
	c.mu.Lock()
	if string(sdp) != string(c.lastSDP) {
		// Our description changed (direction, codec): a new version
		// (RFC 3264 §8). An unchanged one keeps its version.
		c.local.Version++
		local = c.local
		if offered {
			sdp = offer.Offer(local)
		} else {
			sdp, m, _ = offer.Answer(body, local)
		}
		c.lastSDP = sdp
	}
	c.wantAck = req.CSeq().SeqNo
	c.mu.Unlock()
	if !offered {
		c.applyMedia(m)
	}
	res := c.okResponse(req, sdp)
	if err := tx.Respond(res); err != nil {
		c.log.Warn("re-invite answer failed", "error", err)
		return
	}
	ackBody, ok := c.awaitAck(tx, res)
	if ok && offered {
		if err := c.readAnswer(ackBody); err != nil {
			c.log.Warn("re-invite ack without usable answer", "error", err)
		}
	}
}

// okResponse builds our 200 OK for an INVITE with our SDP.
func (c *Call) okResponse(req *gosip.Request, sdp []byte) *gosip.Response {
	res := gosip.NewResponseFromRequest(req, 200, "OK", sdp)
	if to := res.To(); to != nil {
		to.Params.Add("tag", c.localTag)
	}
	res.AppendHeader(c.lis.contact(c.localIP))
	res.AppendHeader(gosip.NewHeader("Allow", allowed))
	res.AppendHeader(gosip.NewHeader("Server", c.srv.opts.UserAgent))
	res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	return res
}

// readBye records the caller's BYE (already answered 200).
func (c *Call) readBye() {
	c.mu.Lock()
	first := !c.ended
	c.ended = true
	if first {
		c.endReason = "caller hung up"
	}
	c.mu.Unlock()
	if first {
		close(c.byeRecv)
		c.cancel(ivr.ErrHangup)
	}
}

// end asks the owner to hang up (server shutdown).
func (c *Call) end(reason string) { c.cancel(errors.New(reason)) }

// bye sends our BYE once and waits for its answer (up to 32 s, the
// transaction's own timeout, less when the server shuts down). A call the
// caller already left is not BYE'd.
func (c *Call) bye(reason string) {
	c.byeOnce.Do(func() {
		defer close(c.byeSent)
		c.mu.Lock()
		if c.ended {
			c.mu.Unlock()
			return
		}
		c.ended = true
		c.endReason = reason
		c.mu.Unlock()

		req := c.inDialogRequest(gosip.BYE)
		ctx, cancel := context.WithTimeout(c.srv.byeCtx, 32*time.Second)
		defer cancel()
		res, err := c.lis.client.Do(ctx, req, sipgo.ClientRequestAddVia)
		switch {
		case err != nil:
			c.log.Warn("bye failed", "error", err)
		case res.StatusCode != 200 && res.StatusCode != 481:
			c.log.Warn("bye answered", "code", res.StatusCode)
		}
	})
	<-c.byeSent
}

// inDialogRequest builds a request inside the dialog (RFC 3261 §12.2.1.1):
// to the caller's Contact, through its Record-Route set, with our tag.
func (c *Call) inDialogRequest(method gosip.RequestMethod) *gosip.Request {
	inv := c.invite
	target := inv.From().Address
	if ct := inv.Contact(); ct != nil {
		target = ct.Address
	}
	req := gosip.NewRequest(method, *target.Clone())
	from := inv.To().AsFrom()
	from.Params.Add("tag", c.localTag)
	to := inv.From().AsTo()
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	req.AppendHeader(gosip.HeaderClone(inv.CallID()))
	c.mu.Lock()
	c.localCSeq++
	seq := c.localCSeq
	c.mu.Unlock()
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: seq, MethodName: method})
	mf := gosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	for _, rr := range inv.GetHeaders("Record-Route") {
		req.AppendHeader(gosip.NewHeader("Route", rr.Value()))
	}
	req.AppendHeader(c.lis.contact(c.localIP))
	req.AppendHeader(gosip.NewHeader("User-Agent", c.srv.opts.UserAgent))
	req.SetBody(nil)
	req.SetTransport(inv.Transport())
	if r := req.Route(); r != nil {
		req.SetDestination(r.Address.HostPort())
	} else {
		// Back to where the INVITE came from: behind NAT the Contact is
		// often a private address, while the source is what answers.
		req.SetDestination(inv.Source())
	}
	if c.lis.Transport == "udp" {
		req.Laddr = gosip.Addr{IP: net.IP(c.lis.Addr.Addr().AsSlice()), Port: int(c.lis.Addr.Port())}
	}
	return req
}

func (c *Call) cleanup() {
	c.cancel(errors.New("call ended"))
	c.mu.Lock()
	c.ended = true
	reason := c.endReason
	c.mu.Unlock()
	if err := c.media.Close(); err != nil {
		c.log.Debug("media close", "error", err)
	}
	st := c.media.Stats()
	c.srv.removeCall(c)
	if reason == "" {
		reason = context.Cause(c.ctx).Error()
	}
	c.log.Info("call ended", "reason", reason, "duration", time.Since(c.started).Round(time.Millisecond).String(),
		"rtp_sent", st.PacketsSent, "rtp_received", st.PacketsReceived, "rtp_lost", st.Lost)
}

// contact is our Contact header at host, the address the caller reaches
// us at (localAddrFor, worked out once per call).
func (l *listener) contact(host netip.Addr) *gosip.ContactHeader {
	uri := gosip.Uri{Scheme: "sip", User: "switchboard", Host: host.String(), Port: int(l.Addr.Port())}
	if l.Transport == "tcp" {
		uri.UriParams = gosip.NewParams()
		uri.UriParams.Add("transport", "tcp")
	}
	return &gosip.ContactHeader{Address: uri}
}

// localAddrFor is the address we are reached at by a peer at remote: the
// configured contact address, the listener's own address, or, for a
// wildcard listener, the local address the kernel routes to remote from.
func (l *listener) localAddrFor(remote string) netip.Addr {
	if l.srv.opts.ContactAddress.IsValid() {
		return l.srv.opts.ContactAddress
	}
	if a := l.Addr.Addr(); !a.IsUnspecified() {
		return a
	}
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		// Connecting a UDP socket sends nothing; it only asks the routing
		// table which source address would be used.
		if conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(ap)); err == nil {
			defer conn.Close()
			return conn.LocalAddr().(*net.UDPAddr).AddrPort().Addr()
		}
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1})
}

// Hangup ends the call with a BYE and returns once it is answered.
func (c *Call) Hangup(ctx context.Context) error {
	c.bye("flow hung up")
	c.cancel(ivr.ErrHangup)
	return nil
}

// Play sends audio to the caller; with DTMFBargeIn the first key stops it.
func (c *Call) Play(ctx context.Context, audio []int16, opts ivr.PlayOptions) (ivr.Input, error) {
	if err := c.alive(ctx); err != nil {
		return ivr.Input{}, err
	}
	if opts.DTMFBargeIn && len(c.pending) > 0 {
		// Keys typed during an announcement that could not be interrupted
		// interrupt this prompt before it starts.
		keys := string(c.pending)
		c.pending = c.pending[:0]
		return ivr.Input{Kind: ivr.InputDigits, Digits: keys}, nil
	}
	pb := c.media.Play(audio)
	defer pb.Stop()
	turn := c.startTurn(ctx, opts.Speech, false, 0, true)
	var wake <-chan struct{}
	if turn != nil {
		defer turn.Close()
		wake = c.listener.Wake()
		if act := c.feedTurn(turn); act&asr.ActionStopPrompt != 0 {
			pb.Stop()
		}
	}
	promptDone := pb.Done()
	for {
		select {
		case <-promptDone:
			promptDone = nil
			if turn == nil {
				return ivr.Input{Kind: ivr.InputNone}, nil
			}
			if act := turn.PromptEnded(); act&asr.ActionDone != 0 {
				return c.turnInput(turn), nil
			}
		case <-wake:
			act := c.feedTurn(turn)
			if act&asr.ActionStopPrompt != 0 {
				pb.Stop()
				promptDone = nil
			}
			if act&asr.ActionDone != 0 {
				return c.turnInput(turn), nil
			}
		case d := <-c.media.Digits():
			if in, stop := c.keyDuringPrompt(d.Key, opts); stop {
				pb.Stop()
				return in, nil
			}
		case k := <-c.infoKeys:
			if in, stop := c.keyDuringPrompt(k, opts); stop {
				pb.Stop()
				return in, nil
			}
		case <-ctx.Done():
			return ivr.Input{}, ivr.ErrHangup
		case <-c.ctx.Done():
			return ivr.Input{}, ivr.ErrHangup
		}
	}
}

func (c *Call) keyDuringPrompt(k byte, opts ivr.PlayOptions) (ivr.Input, bool) {
	c.log.Info("dtmf", "key", string(k), "during", "prompt")
	if opts.DTMFBargeIn {
		keys := string(c.pending) + string(k)
		c.pending = c.pending[:0]
		return ivr.Input{Kind: ivr.InputDigits, Digits: keys}, true
	}
	c.pending = append(c.pending, k)
	return ivr.Input{}, false
}

// Listen collects keys: up to MaxDigits, ended early by a terminator, with
// NoInput for the first key and InterDigit between keys.
func (c *Call) Listen(ctx context.Context, opts ivr.ListenOptions) (ivr.Input, error) {
	if err := c.alive(ctx); err != nil {
		return ivr.Input{}, err
	}
	e := speech.NewEntry(opts)
	if opts.Speech != nil && opts.InitialKeys == "" && len(c.pending) == 0 {
		if turn := c.startTurn(ctx, opts.Speech, true, e.NoInput, false); turn != nil {
			in, key, err := c.listenSpeech(ctx, turn, opts)
			if err != nil || key == 0 {
				return in, err
			}
			opts.InitialKeys = string(key)
		}
	}
	early := append([]byte(opts.InitialKeys), c.pending...)
	c.pending = c.pending[:0]
	for _, k := range early {
		e.Add(k)
	}
	timer := time.NewTimer(e.Wait())
	defer timer.Stop()
	for !e.Done() {
		select {
		case d := <-c.media.Digits():
			c.log.Info("dtmf", "key", string(d.Key))
			e.Add(d.Key)
			timer.Reset(e.Wait())
		case k := <-c.infoKeys:
			c.log.Info("dtmf", "key", string(k), "via", "info")
			e.Add(k)
			timer.Reset(e.Wait())
		case <-timer.C:
			e.Timeout()
		case <-ctx.Done():
			return ivr.Input{}, ivr.ErrHangup
		case <-c.ctx.Done():
			return ivr.Input{}, ivr.ErrHangup
		}
	}
	c.pending = append(c.pending, e.Rest...)
	return e.Input(), nil
}

func (c *Call) alive(ctx context.Context) error {
	if ctx.Err() != nil || c.ctx.Err() != nil {
		return ivr.ErrHangup
	}
	return nil
}

func (c *Call) keyFromInfo(k byte) {
	select {
	case c.infoKeys <- k:
	default:
		c.log.Warn("dtmf dropped: too many keys queued", "key", string(k))
	}
}

// String is for logs.
func (c *Call) String() string { return fmt.Sprintf("call %s", c.callID) }
