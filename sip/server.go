// Package sip is Switchboard's SIP user agent: it listens on UDP and TCP,
// answers INVITEs (100 Trying, 200 OK with an SDP answer or offer, 2xx
// retransmission until ACK), handles CANCEL, BYE, re-INVITE (hold, new
// address), OPTIONS and INFO, refuses what it does not do with the proper
// 4xx/5xx, routes each call by number to a handler, and owns every call's
// lifecycle from INVITE to the last BYE. Parsing, transport and transactions
// come from github.com/emiago/sipgo; dialogs are kept here so that their
// behaviour follows RFC 3261 and RFC 6026 exactly.
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
	"github.com/switchboard-voice/switchboard/ivr"
	"github.com/switchboard-voice/switchboard/media"
)

// Listener is one SIP socket: "udp" or "tcp" and an address.
type Listener struct {
	Transport string
	Addr      netip.AddrPort
}

func (l Listener) String() string { return l.Transport + ":" + l.Addr.String() }

// Handler runs a call once it is answered and acknowledged. It returns when
// the call is over for it; the server hangs up whatever is still up.
type Handler func(ctx context.Context, c *Call)

// Options configures a Server. Zero values take the documented defaults.
type Options struct {
	Listen []Listener
	// ContactAddress goes into Contact and Via instead of the local address
	// (NAT). Default: the address the request arrived on.
	ContactAddress netip.Addr
	// MediaAddress goes into SDP c=/o= (media.public_address). Default: the
	// local address facing the caller.
	MediaAddress netip.Addr
	// MediaBind is where RTP sockets are bound. Default 0.0.0.0.
	MediaBind netip.Addr
	Ports     *media.Ports // required
	Clock     *media.Clock // required, run by the owner
	// MediaTimeout hangs up calls that send no RTP for this long. Default 30s.
	MediaTimeout time.Duration
	// UserAgent is sent in Server/User-Agent headers. Default "Switchboard".
	UserAgent string
	// MaxCalls caps simultaneous calls (503 beyond). Default 1000.
	MaxCalls int
	// Ring sends 180 Ringing and waits this long before answering, as a
	// PBX that lets a call ring does. Default 0: answer at once.
	Ring time.Duration
	// Recognizer hears callers' speech; nil accepts keys only.
	Recognizer asr.Recognizer
	// VAD tunes voice activity detection; zero values take its defaults.
	VAD media.VADConfig
	// Route picks the handler for a call; false answers 404.
	Route  func(info ivr.Info) (Handler, bool)
	Logger *slog.Logger
}

// Server is the SIP user agent. One sipgo stack per listener keeps
// responses and our own requests on the socket the dialog started on.
type Server struct {
	opts Options
	log  *slog.Logger

	mu        sync.Mutex
	listeners []*listener
	calls     map[string]*Call // by dialog ID
	byCallID  map[string]*Call // by Call-ID, to find the call an INVITE retransmission or CANCEL belongs to
	draining  bool
	total     int            // calls answered or refused since start
	wg        sync.WaitGroup // one per live call
	changed   chan struct{}  // closed and replaced when the set of calls changes
	closeOnce sync.Once

	// byeCtx bounds our BYEs' wait for an answer; HangupAll cancels it
	// when callers have had shutdownByeWait to answer, so that a peer
	// that has gone away does not hold the shutdown for a transaction
	// timeout (32 s) per call.
	byeCtx    context.Context
	byeCancel context.CancelFunc
}

// shutdownByeWait is how long HangupAll waits for the BYEs it sends to be
// answered: a live peer answers within a retransmission or two.
var shutdownByeWait = 4 * time.Second

type listener struct {
	Listener
	srv    *Server
	ua     *sipgo.UserAgent
	server *sipgo.Server
	client *sipgo.Client
	closer func() error
	done   chan struct{}
}

// allowed is what Allow headers list: the methods we act on. REFER is one
// we send (transfers) and decline from callers; NOTIFY carries its outcome.
const allowed = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, NOTIFY"

// knownMethods are methods we recognise but do not act on: 405, not 501.
var knownMethods = map[string]bool{
	"REGISTER": true, "SUBSCRIBE": true,
	"MESSAGE": true, "PUBLISH": true, "UPDATE": true, "PRACK": true,
}

// NewServer checks the options; Listen binds the sockets.
func NewServer(opts Options) (*Server, error) {
	if opts.Ports == nil || opts.Clock == nil {
		return nil, errors.New("sip: Ports and Clock are required")
	}
	if opts.Route == nil {
		return nil, errors.New("sip: Route is required")
	}
	if opts.MediaTimeout == 0 {
		opts.MediaTimeout = 30 * time.Second
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "Switchboard"
	}
	if opts.MaxCalls == 0 {
		opts.MaxCalls = 1000
	}
	if !opts.MediaBind.IsValid() {
		opts.MediaBind = netip.IPv4Unspecified()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	byeCtx, byeCancel := context.WithCancel(context.Background())
	return &Server{
		opts:      opts,
		log:       opts.Logger,
		calls:     make(map[string]*Call),
		byCallID:  make(map[string]*Call),
		changed:   make(chan struct{}),
		byeCtx:    byeCtx,
		byeCancel: byeCancel,
	}, nil
}

// Listen binds every configured listener and starts serving. Bind errors
// are returned before anything is served.
func (s *Server) Listen() error {
	var ls []*listener
	for _, l := range s.opts.Listen {
		nl, err := s.bind(l)
		if err != nil {
			for _, b := range ls {
				b.close()
			}
			return err
		}
		ls = append(ls, nl)
	}
	s.mu.Lock()
	s.listeners = ls
	s.mu.Unlock()
	for _, l := range ls {
		s.log.Info("sip listening", "transport", l.Transport, "addr", l.Addr.String())
	}
	return nil
}

// Addrs returns the bound listeners (with the real port where :0 was asked).
func (s *Server) Addrs() []Listener {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Listener, len(s.listeners))
	for i, l := range s.listeners {
		out[i] = l.Listener
	}
	return out
}

func (s *Server) bind(l Listener) (*listener, error) {
	sipLog := s.log.With("component", "sipgo")
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(s.opts.UserAgent),
		sipgo.WithUserAgentTransportLayerOptions(gosip.WithTransportLayerLogger(quiet(sipLog))),
		sipgo.WithUserAgentTransactionLayerOptions(gosip.WithTransactionLayerLogger(quiet(sipLog))),
	)
	if err != nil {
		return nil, fmt.Errorf("sip: %w", err)
	}
	nl := &listener{Listener: l, srv: s, ua: ua, done: make(chan struct{})}
	nl.server, err = sipgo.NewServer(ua, sipgo.WithServerLogger(quiet(sipLog)))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("sip: %w", err)
	}
	switch l.Transport {
	case "udp":
		pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(l.Addr))
		if err != nil {
			ua.Close()
			return nil, fmt.Errorf("sip: listen %s: %w", l, err)
		}
		nl.Addr = pc.LocalAddr().(*net.UDPAddr).AddrPort()
		wrapped := &badRequestConn{UDPConn: pc, log: s.log}
		nl.closer = pc.Close
		nl.setup()
		go func() {
			defer close(nl.done)
			_ = nl.server.ServeUDP(wrapped)
		}()
	case "tcp":
		tl, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(l.Addr))
		if err != nil {
			ua.Close()
			return nil, fmt.Errorf("sip: listen %s: %w", l, err)
		}
		nl.Addr = tl.Addr().(*net.TCPAddr).AddrPort()
		nl.closer = tl.Close
		nl.setup()
		go func() {
			defer close(nl.done)
			_ = nl.server.ServeTCP(tl)
		}()
	default:
		ua.Close()
		return nil, fmt.Errorf("sip: listen %s: transport must be udp or tcp", l)
	}
	host := l.Addr.Addr()
	if s.opts.ContactAddress.IsValid() {
		host = s.opts.ContactAddress
	}
	nl.client, err = sipgo.NewClient(ua, sipgo.WithClientHostname(host.String()), sipgo.WithClientPort(int(nl.Addr.Port())))
	if err != nil {
		nl.close()
		return nil, fmt.Errorf("sip: %w", err)
	}
	return nl, nil
}

func (l *listener) setup() {
	s := l.srv
	l.server.OnInvite(func(req *gosip.Request, tx gosip.ServerTransaction) { s.onInvite(l, req, tx) })
	l.server.OnAck(func(req *gosip.Request, tx gosip.ServerTransaction) { s.onAck(req) })
	l.server.OnBye(func(req *gosip.Request, tx gosip.ServerTransaction) { s.onBye(req, tx) })
	l.server.OnCancel(func(req *gosip.Request, tx gosip.ServerTransaction) {
		// A CANCEL that matched an INVITE transaction was answered by the
		// transaction layer (200, then 487 to the INVITE); this one matched
		// nothing (RFC 3261 §9.2).
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
	})
	l.server.OnOptions(func(req *gosip.Request, tx gosip.ServerTransaction) { s.onOptions(req, tx) })
	l.server.OnInfo(func(req *gosip.Request, tx gosip.ServerTransaction) { s.onInfo(req, tx) })
	l.server.OnNotify(func(req *gosip.Request, tx gosip.ServerTransaction) { s.onNotify(req, tx) })
	l.server.OnRefer(func(req *gosip.Request, tx gosip.ServerTransaction) { s.onRefer(req, tx) })
	l.server.OnNoRoute(func(req *gosip.Request, tx gosip.ServerTransaction) {
		if knownMethods[req.Method.String()] {
			respond(tx, req, 405, "Method Not Allowed", gosip.NewHeader("Allow", allowed))
			return
		}
		respond(tx, req, 501, "Not Implemented", gosip.NewHeader("Allow", allowed))
	})
}

func (l *listener) close() {
	if l.closer != nil {
		l.closer()
	}
	l.ua.Close()
}

// ActiveCalls is the number of calls in progress.
func (s *Server) ActiveCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byCallID)
}

// TotalCalls is the number of calls taken since the server started.
func (s *Server) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// Drain stops taking new calls: INVITEs are answered 503 from now on.
func (s *Server) Drain() {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
}

// Shutdown stops taking calls, lets live ones finish until ctx is done,
// hangs up the rest, and closes the listeners.
func (s *Server) Shutdown(ctx context.Context) {
	s.Drain()
	s.waitCalls(ctx)
	s.HangupAll()
	s.Close()
}

// waitCalls returns when no call is live or ctx is done.
func (s *Server) waitCalls(ctx context.Context) {
	for {
		s.mu.Lock()
		n, ch := len(s.byCallID), s.changed
		s.mu.Unlock()
		if n == 0 {
			return
		}
		s.log.Info("waiting for calls to finish", "calls", n)
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

// HangupAll sends BYE on every live call and waits for them to end. BYEs
// still unanswered after shutdownByeWait are given up on: the server is
// going away, and a peer that does not answer has most likely gone first.
func (s *Server) HangupAll() {
	s.mu.Lock()
	calls := make([]*Call, 0, len(s.byCallID))
	for _, c := range s.byCallID {
		calls = append(calls, c)
	}
	s.mu.Unlock()
	for _, c := range calls {
		c.end("server shutdown")
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(shutdownByeWait)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	s.log.Warn("giving up on unanswered BYEs", "calls", s.ActiveCalls(), "waited", shutdownByeWait.String())
	s.byeCancel()
	<-done
}

// Close stops the listeners. Calls still live are hung up first.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.Drain()
		s.HangupAll()
		s.mu.Lock()
		ls := s.listeners
		s.mu.Unlock()
		for _, l := range ls {
			l.close()
			<-l.done
		}
		s.byeCancel() // every call, and its BYE, is over
	})
}

func (s *Server) addCall(c *Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[c.dialogID] = c
	s.byCallID[c.callID] = c
	s.total++
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) removeCall(c *Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.calls, c.dialogID)
	if s.byCallID[c.callID] == c {
		delete(s.byCallID, c.callID)
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// findDialog returns the call an in-dialog request belongs to.
func (s *Server) findDialog(req *gosip.Request) *Call {
	id, err := gosip.DialogIDFromRequestUAS(req)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[id]
}

// admit decides whether a new call may start: nil, or the response code.
func (s *Server) admit(callID string) (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return 503, "Service Unavailable"
	}
	if _, dup := s.byCallID[callID]; dup {
		// An INVITE with a known Call-ID and no To tag that is not a
		// retransmission (those the transaction layer absorbs): a forked or
		// looped request (RFC 3261 §8.2.2.2).
		return 482, "Loop Detected"
	}
	if len(s.byCallID) >= s.opts.MaxCalls {
		return 503, "Service Unavailable"
	}
	return 0, ""
}

func (s *Server) onOptions(req *gosip.Request, tx gosip.ServerTransaction) {
	if code, reason := checkRequest(req); code != 0 {
		respond(tx, req, code, reason)
		return
	}
	respond(tx, req, 200, "OK",
		gosip.NewHeader("Allow", allowed),
		gosip.NewHeader("Accept", "application/sdp"),
		gosip.NewHeader("Accept-Encoding", "identity"),
		gosip.NewHeader("Accept-Language", "en"),
		gosip.NewHeader("Server", s.opts.UserAgent),
	)
}

func (s *Server) onAck(req *gosip.Request) {
	if c := s.findDialog(req); c != nil {
		c.readAck(req)
	}
	// An ACK matches no transaction and needs no answer (RFC 3261 §17.2.3).
}

// inDialog checks a request that belongs in a dialog and returns its call;
// nil once it has answered a bad request (4xx) or one for a dialog we do not
// have (481).
func (s *Server) inDialog(req *gosip.Request, tx gosip.ServerTransaction) *Call {
	if code, reason := checkRequest(req); code != 0 {
		respond(tx, req, code, reason)
		return nil
	}
	c := s.findDialog(req)
	if c == nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
	}
	return c
}

func (s *Server) onBye(req *gosip.Request, tx gosip.ServerTransaction) {
	c := s.inDialog(req, tx)
	if c == nil {
		return
	}
	respond(tx, req, 200, "OK")
	c.readBye()
}

func (s *Server) onInfo(req *gosip.Request, tx gosip.ServerTransaction) {
	c := s.inDialog(req, tx)
	if c == nil {
		return
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = strings.ToLower(strings.TrimSpace(h.Value()))
	}
	switch {
	case len(req.Body()) == 0:
		// An empty INFO is a keep-alive probe.
		respond(tx, req, 200, "OK")
	case strings.HasPrefix(ct, "application/dtmf-relay"), strings.HasPrefix(ct, "application/dtmf"):
		key, ok := parseDTMFInfo(req.Body())
		if !ok {
			respond(tx, req, 400, "Bad DTMF Body")
			return
		}
		respond(tx, req, 200, "OK")
		c.keyFromInfo(key)
	default:
		respond(tx, req, 415, "Unsupported Media Type", gosip.NewHeader("Accept", "application/dtmf-relay, application/dtmf"))
	}
}

// parseDTMFInfo reads "Signal=5\r\nDuration=160" (dtmf-relay) or "5" (dtmf).
func parseDTMFInfo(body []byte) (byte, bool) {
	text := strings.TrimSpace(string(body))
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "signal") {
			text = strings.TrimSpace(v)
			break
		}
	}
	if len(text) != 1 {
		switch text {
		case "10":
			return '*', true
		case "11":
			return '#', true
		}
		return 0, false
	}
	k := text[0]
	if k >= 'a' && k <= 'd' {
		k -= 'a' - 'A'
	}
	if (k >= '0' && k <= '9') || k == '*' || k == '#' || (k >= 'A' && k <= 'D') {
		return k, true
	}
	return 0, false
}

// checkRequest applies the checks every request gets (RFC 3261 §8.2):
// mandatory headers, Max-Forwards, URI scheme, Require.
func checkRequest(req *gosip.Request) (int, string) {
	switch {
	case req.From() == nil:
		return 400, "Missing From Header"
	case req.To() == nil:
		return 400, "Missing To Header"
	case req.CallID() == nil || string(*req.CallID()) == "":
		return 400, "Missing Call-ID Header"
	case req.CSeq() == nil:
		return 400, "Missing CSeq Header"
	case req.CSeq().MethodName != req.Method:
		return 400, "CSeq Method Does Not Match"
	}
	if mf := req.MaxForwards(); mf != nil && *mf == 0 && !req.IsAck() {
		return 483, "Too Many Hops"
	}
	switch strings.ToLower(req.Recipient.Scheme) {
	case "sip", "sips", "tel":
	default:
		return 416, "Unsupported URI Scheme"
	}
	if h := req.GetHeader("Require"); h != nil && !req.IsAck() && !req.IsCancel() {
		return 420, "Bad Extension"
	}
	return 0, ""
}

func respond(tx gosip.ServerTransaction, req *gosip.Request, code int, reason string, hdrs ...gosip.Header) {
	res := gosip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if code == 420 {
		if h := req.GetHeader("Require"); h != nil {
			res.AppendHeader(gosip.NewHeader("Unsupported", h.Value()))
		}
	}
	_ = tx.Respond(res)
}

// quiet drops sipgo's info/debug chatter and its error logs for conditions
// we answer ourselves, keeping warnings and errors visible.
func quiet(l *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{l.Handler(), slog.LevelWarn})
}

type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

func (f levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{f.Handler.WithAttrs(a), f.min}
}

func (f levelFilter) WithGroup(n string) slog.Handler {
	return levelFilter{f.Handler.WithGroup(n), f.min}
}
