package sipcall

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/internal/offer"
	"github.com/switchboard-voice/switchboard/internal/records"
	"github.com/switchboard-voice/switchboard/internal/replay"
	"github.com/switchboard-voice/switchboard/ivr"
	"github.com/switchboard-voice/switchboard/media"
)

// Defaults of Options.
const (
	DefaultListenQuiet = 600 * time.Millisecond
	DefaultPoll        = 100 * time.Millisecond
	// DefaultRecordWait is how long after the call the record may take to
	// be finished (live false).
	DefaultRecordWait = 5 * time.Second
)

// Options says where and how to call.
type Options struct {
	// Target is the server: sip:USER@HOST:PORT. USER is the number
	// dialled, unless the scenario gives called:.
	Target string
	// Transport is udp (default) or tcp.
	Transport string
	// API is the server's HTTP address (http://HOST:PORT, or HOST:PORT)
	// for its call records: wait steps and most expectations need it.
	// Empty: only what SIP shows is checked.
	API string
	// Prompts speaks say steps without voice or wpm (the flow's voice, as
	// in replay.Run).
	Prompts ivr.Prompts
	// Logger receives the call's log lines, each with call_id (nil
	// discards them).
	Logger *slog.Logger
	// Keep keeps the server's audio in Result.Received (for --record).
	Keep bool
	// ListenQuiet is how long the server's audio must stay digital
	// silence for the flow to count as listening; default
	// DefaultListenQuiet, longer than the pauses between sentences of a
	// synthesised prompt.
	ListenQuiet time.Duration
	// Poll is how often the record is read while the call runs; default
	// DefaultPoll.
	Poll time.Duration
	// RecordWait is how long the final record may take; default
	// DefaultRecordWait.
	RecordWait time.Duration
	// BindAddr is the local address for SIP and RTP; default the one the
	// system routes to the target from.
	BindAddr netip.Addr
}

// Result is what one call did.
type Result struct {
	// Report is the call in replay's terms (Result from the server's
	// record, or from SIP alone without API), with the failures.
	Report replay.Report
	CallID string
	// Skipped names the expectations not checked and why, e.g.
	// "nodes (needs --api)".
	Skipped []string
	// Notes say how some checks were made, for the verbose output.
	Notes []string
	// Record is the server's final call record (nil without API).
	Record *records.Record
	// Codec is the audio codec of the answer (PCMU or PCMA).
	Codec string
	// Refers are the REFERs the server sent, and what we answered.
	Refers []Refer
	// HungUpBy says who ended the call: "server", "caller" (a hangup
	// step), "limit" (max_duration) or "" when it never got answered.
	HungUpBy string
	// Duration runs from the answer to the end of the call.
	Duration time.Duration
	// Sent and Heard: the caller's audio sent (20 ms frames), the
	// server's received and, of that, what was not silence, and its
	// level (dBFS RMS over those frames).
	Sent, Heard, Sound time.Duration
	SoundDBFS          float64
	// Received is the server's audio, decoded, with Keep.
	Received []int16
}

// Refer is a REFER from the server and what the scenario's transfer
// target made of it.
type Refer struct {
	ReferTo string // the Refer-To URI, without angle brackets
	Result  string // ok, busy, declined, rejected, timeout
	Notify  int    // the sipfrag status sent (0: none)
}

// Run places sc as a call to opts.Target in real time and checks what it
// did against sc's expect. Failures to set the call up are failures of
// the report, not errors: a scenario always gives a report.
func Run(ctx context.Context, sc *replay.Scenario, opts Options) Result {
	start := time.Now()
	c := &call{sc: sc, opts: opts}
	c.res.Report.Scenario = sc
	c.res.CallID = fmt.Sprintf("sbtest-%016x", rand.Uint64())
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c.log = log.With("call_id", c.res.CallID)
	if err := c.run(ctx); err != nil {
		c.fail("%v", err)
	}
	c.res.Report.Elapsed = time.Since(start)
	return c.res
}

// call is one scenario's call. run owns it: one goroutine handles every
// SIP message and event in a single select loop; the RTP sender and
// receiver and the record poller are its goroutines, stopped and waited
// for before it returns.
type call struct {
	sc   *replay.Scenario
	opts Options
	log  *slog.Logger
	res  Result

	tr        *transport
	api       *recordClient
	target    gosip.Uri
	user      string // the number dialled
	fromTag   string
	toTag     string
	cseq      uint32
	invite    string // as sent, for retransmission
	branch    string // the INVITE's
	remote    string // the server's Contact: Request-URI of our in-dialog requests
	routes    []string
	rtp       *net.UDPConn
	media     offer.Media
	watch     *flowWatch
	caller    *replay.Caller
	pending   map[string]*outgoing // our requests awaiting an answer (UDP), by branch
	answered  map[string]string    // our answers to the server's requests, by CSeq method and number
	rules     []bool               // scenario transfer entries used
	notifies  chan notifyDue
	referWait sync.WaitGroup
	hitLimit  bool
	start     time.Time // the answer
}

// outgoing is a request of ours retransmitted over UDP until it gets an
// answer (RFC 3261 §17.1.1.2, §17.1.2.2, simplified: T1 doubling).
type outgoing struct {
	msg      string
	method   string
	next     time.Time
	interval time.Duration
	deadline time.Time
}

type notifyDue struct {
	referCSeq uint32
	status    int
	reason    string
}

func (c *call) fail(format string, args ...any) {
	c.res.Report.Failures = append(c.res.Report.Failures, fmt.Sprintf(format, args...))
}

// run places the call and checks it; an error is a reason the call
// could not be placed or checked at all.
func (c *call) run(ctx context.Context) error {
	sc := c.sc
	if err := gosip.ParseUri(c.opts.Target, &c.target); err != nil || c.target.Host == "" {
		return fmt.Errorf("setup: --target %q: want sip:USER@HOST:PORT", c.opts.Target)
	}
	c.user = cmp.Or(sc.Called, c.target.User, "switchboard")
	hasWait := false
	for _, st := range sc.Steps {
		hasWait = hasWait || st.Kind == replay.StepWait
	}
	if c.opts.API != "" {
		api, err := newRecordClient(c.opts.API)
		if err != nil {
			return fmt.Errorf("setup: %w", err)
		}
		c.api = api
	} else if hasWait {
		return fmt.Errorf("setup: wait steps need the server's call records: give --api http://HOST:PORT (the server's http.listen)")
	}
	c.watch = newFlowWatch(cmp.Or(c.opts.ListenQuiet, DefaultListenQuiet))
	caller, err := replay.NewCaller(ctx, sc, c.opts.Prompts, c.watch)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	c.caller = caller

	port := int(c.target.Port)
	if port == 0 {
		port = 5060
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", c.target.Host)
	if err != nil || len(ips) == 0 {
		return fmt.Errorf("setup: resolve %s: %v", c.target.Host, err)
	}
	remote := netip.AddrPortFrom(ips[0], uint16(port))
	local := c.opts.BindAddr
	if !local.IsValid() {
		if local, err = localAddrFor(remote); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
	}
	c.tr, err = dialTransport(cmp.Or(c.opts.Transport, "udp"), local, remote)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	defer c.tr.Close()
	c.rtp, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(local, 0)))
	if err != nil {
		return fmt.Errorf("setup: rtp socket: %w", err)
	}
	defer c.rtp.Close()
	c.loop(ctx)
	c.check(ctx)
	return nil
}

// localAddrFor is the address the system sends to remote from.
func localAddrFor(remote netip.AddrPort) (netip.Addr, error) {
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(remote))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("no route to %s: %w", remote, err)
	}
	defer conn.Close()
	return conn.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), nil
}

// Call phases.
const (
	inviting = iota
	talking
	ending // our BYE sent
	over
)

// loop is the call: INVITE, media, whatever the server sends, until one
// side hangs up or the scenario's max_duration passes.
func (c *call) loop(ctx context.Context) {
	c.fromTag = fmt.Sprintf("%08x", rand.Uint32())
	c.pending = map[string]*outgoing{}
	c.answered = map[string]string{}
	c.rules = make([]bool, len(c.sc.Transfers))
	c.notifies = make(chan notifyDue, 8)
	callCtx, stopCall := context.WithCancel(ctx)
	defer func() { stopCall(); c.referWait.Wait() }()

	sdp := offer.Offer(offer.Local{
		Addr: c.tr.local.Addr(), Port: c.rtp.LocalAddr().(*net.UDPAddr).Port,
		SessionID: uint64(rand.Uint32()), Version: 1, UserAgent: "switchboard-test",
	})
	c.cseq = 1
	c.branch = newBranch()
	c.invite = c.request("INVITE", c.requestURI(), c.branch, 1, string(sdp), "application/sdp")
	c.log.Info("invite", "target", c.requestURI(), "transport", c.tr.proto)
	if err := c.send(c.invite, "INVITE", c.branch); err != nil {
		c.fail("sip: %v", err)
		return
	}

	var (
		phase     = inviting
		answered  time.Time
		mediaWG   sync.WaitGroup
		stopMedia = func() {}
		hungUp    = make(chan bool, 1) // the sender: the caller hangs up
		limit     = time.NewTimer(c.sc.MaxDuration)
		tick      = time.NewTicker(50 * time.Millisecond)
		byeWait   *time.Timer
		byeDone   <-chan time.Time
		snd       *sender
		rcv       *receiver
		pollErr   = make(chan error, 1)
	)
	defer limit.Stop()
	defer tick.Stop()
	stop := func() {
		stopMedia()
		mediaWG.Wait()
		if !answered.IsZero() {
			c.res.Duration = time.Since(answered)
		}
		if snd != nil {
			_, frames, err := snd.stats()
			c.res.Sent = time.Duration(frames) * media.FrameDuration
			if err != nil {
				c.fail("rtp: sending: %v", err)
			}
		}
		if rcv != nil {
			frames, sound, dbfs := rcv.stats()
			c.res.Heard = time.Duration(frames) * media.FrameDuration
			c.res.Sound = time.Duration(sound) * media.FrameDuration
			c.res.SoundDBFS = dbfs
			c.res.Received = rcv.pcm
		}
	}
	bye := func(why string) {
		phase = ending
		stopMedia()
		c.cseq++
		branch := newBranch()
		msg := c.request("BYE", c.remote, branch, c.cseq, "", "")
		c.log.Info("bye", "reason", why)
		if err := c.send(msg, "BYE", branch); err != nil {
			c.fail("sip: %v", err)
			phase = over
			return
		}
		byeWait = time.NewTimer(4 * time.Second)
		byeDone = byeWait.C
	}
	startMedia := func() {
		mctx, cancel := context.WithCancel(callCtx)
		stopMedia = func() { cancel() }
		snd = newSender(c.rtp, c.media.Remote, c.media.PayloadType, c.media.DTMFType, c.caller, c.watch)
		rcv = &receiver{conn: c.rtp, watch: c.watch, keep: c.opts.Keep}
		mediaWG.Add(2)
		go func() {
			defer mediaWG.Done()
			if snd.run(mctx) {
				hungUp <- true
			}
		}()
		go func() { defer mediaWG.Done(); rcv.run() }()
		if c.api != nil {
			mediaWG.Add(1)
			go func() {
				defer mediaWG.Done()
				if err := c.api.poll(mctx, c.res.CallID, cmp.Or(c.opts.Poll, DefaultPoll), c.watch); err != nil {
					pollErr <- err
				}
			}()
		}
	}
	defer func() {
		// The receiver stops when the socket closes; the sender and
		// poller when their context ends.
		stopMedia()
		c.rtp.Close()
		stop()
	}()

	for phase != over {
		select {
		case in := <-c.tr.In():
			switch m := in.msg.(type) {
			case *gosip.Response:
				if !c.ours(m) {
					continue
				}
				if br := topBranch(m); br != "" && !m.IsProvisional() {
					delete(c.pending, br)
				} else if m.IsProvisional() && m.CSeq().MethodName == gosip.INVITE {
					if o := c.pending[br]; o != nil {
						o.interval = 0 // a provisional answer stops INVITE retransmissions
					}
				}
				switch m.CSeq().MethodName {
				case gosip.INVITE:
					switch {
					case m.IsProvisional():
						c.log.Debug("provisional", "code", m.StatusCode)
					case m.IsSuccess():
						c.ack(m)
						if phase != inviting {
							continue // a retransmitted 200: acknowledged again
						}
						if err := c.answer(m); err != nil {
							c.fail("%v", err)
							bye("bad answer")
							continue
						}
						phase, answered = talking, time.Now()
						c.start = answered
						c.log.Info("answered", "codec", c.media.Codec, "rtp_remote", c.media.Remote.String(), "dtmf_pt", c.media.DTMFType)
						if c.needsDTMF() && c.media.DTMFType == 0 {
							c.fail("sdp: the answer has no telephone-event payload type: dtmf steps cannot be sent")
							bye("no telephone-event")
							continue
						}
						startMedia()
					default:
						c.ackFailure(m)
						c.fail("sip: the server answered the INVITE %d %s", m.StatusCode, m.Reason)
						phase = over
					}
				case gosip.BYE:
					if phase == ending && !m.IsProvisional() {
						phase = over
					}
				case gosip.NOTIFY:
					if !m.IsSuccess() && !m.IsProvisional() {
						c.log.Warn("notify answered", "code", m.StatusCode, "reason", m.Reason)
					}
				}
			case *gosip.Request:
				if m.CallID() == nil || m.CallID().Value() != c.res.CallID {
					c.reply(in, m, 481, "Call/Transaction Does Not Exist", "")
					continue
				}
				key := m.CSeq().MethodName.String() + " " + strconv.FormatUint(uint64(m.CSeq().SeqNo), 10)
				if prev, ok := c.answered[key]; ok {
					_ = c.tr.send(prev, in.from) // a retransmission
					continue
				}
				switch m.Method {
				case gosip.BYE:
					c.reply(in, m, 200, "OK", key)
					c.log.Info("server hung up")
					if phase != ending {
						c.res.HungUpBy = "server"
					}
					phase = over
				case gosip.REFER:
					c.onRefer(callCtx, in, m, key)
				case gosip.ACK:
				case gosip.OPTIONS:
					c.reply(in, m, 200, "OK", key)
				case gosip.INVITE:
					// A re-INVITE: keep the session as it is.
					c.reply(in, m, 200, "OK", key, "Content-Type: application/sdp", string(sdp))
				default:
					c.reply(in, m, 405, "Method Not Allowed", key, "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REFER, NOTIFY")
				}
			}
		case n := <-c.notifies:
			c.sendNotify(n)
		case <-hungUp:
			c.res.HungUpBy = "caller"
			bye("hangup step")
		case err := <-pollErr:
			c.res.Notes = append(c.res.Notes, "reading the record during the call: "+err.Error())
		case err := <-c.tr.Err():
			c.fail("sip: %v", err)
			phase = over
		case now := <-tick.C:
			if phase == over {
				break
			}
			if c.retransmit(now) && phase == inviting {
				c.fail("sip: no answer to the INVITE from %s", c.tr.remote)
				phase = over
			}
		case <-limit.C:
			if phase == inviting {
				c.fail("sip: not answered within max_duration (%v)", c.sc.MaxDuration)
				phase = over
				break
			}
			if phase == talking {
				c.hitLimit = true
				c.res.HungUpBy = "limit"
				bye("max_duration")
			}
		case <-byeDone:
			c.res.Notes = append(c.res.Notes, "no answer to our BYE within 4s")
			phase = over
		case <-ctx.Done():
			c.fail("cancelled: %v", ctx.Err())
			if phase == talking {
				c.byeNow()
			}
			phase = over
		}
	}
	if byeWait != nil {
		byeWait.Stop()
	}
}

// byeNow sends a BYE without waiting for its answer (the call is given up).
func (c *call) byeNow() {
	c.cseq++
	_ = c.tr.send(c.request("BYE", c.remote, newBranch(), c.cseq, "", ""), netip.AddrPort{})
}

func (c *call) needsDTMF() bool {
	for _, st := range c.sc.Steps {
		if st.Kind == replay.StepDTMF {
			return true
		}
	}
	return false
}

// ours tells whether a response is to one of our requests in this call.
func (c *call) ours(m *gosip.Response) bool {
	return m.CallID() != nil && m.CallID().Value() == c.res.CallID && m.CSeq() != nil
}

// answer reads the 2xx to the INVITE: the dialog (To tag, Contact, route
// set) and the SDP answer.
func (c *call) answer(m *gosip.Response) error {
	if tag, ok := m.To().Params.Get("tag"); ok {
		c.toTag = tag
	}
	c.remote = c.requestURI()
	if ct := m.Contact(); ct != nil {
		c.remote = ct.Address.String()
	}
	// A UAC's route set is the Record-Route of the 2xx, reversed (RFC
	// 3261 §12.1.2).
	rr := m.GetHeaders("Record-Route")
	for i := len(rr) - 1; i >= 0; i-- {
		c.routes = append(c.routes, rr[i].Value())
	}
	md, err := offer.ParseAnswer(m.Body(), offer.Local{})
	if err != nil {
		return fmt.Errorf("sdp: the server's answer: %w", err)
	}
	if !md.Remote.IsValid() || md.Remote.Port() == 0 {
		return fmt.Errorf("sdp: the server's answer has no rtp address")
	}
	c.media = md
	c.res.Codec = md.Codec
	return nil
}

// ack acknowledges a 2xx: a request of its own, in the dialog (RFC 3261
// §13.2.2.4).
func (c *call) ack(m *gosip.Response) {
	uri := c.requestURI()
	if ct := m.Contact(); ct != nil {
		uri = ct.Address.String()
	}
	tag, _ := m.To().Params.Get("tag")
	msg := c.requestWithTag("ACK", uri, newBranch(), 1, tag, "", "")
	_ = c.tr.send(msg, netip.AddrPort{})
}

// ackFailure acknowledges a non-2xx final answer: same branch as the
// INVITE, To as in the answer (RFC 3261 §17.1.1.3).
func (c *call) ackFailure(m *gosip.Response) {
	tag, _ := m.To().Params.Get("tag")
	msg := c.requestWithTag("ACK", c.requestURI(), c.branch, 1, tag, "", "")
	_ = c.tr.send(msg, netip.AddrPort{})
}

// onRefer answers a REFER as the scenario's transfer entries say: the
// first unused one for its target, else ok.
func (c *call) onRefer(ctx context.Context, in inbound, m *gosip.Request, key string) {
	referTo := ""
	if h := m.GetHeader("Refer-To"); h != nil {
		referTo = h.Value()
	} else if h := m.GetHeader("r"); h != nil {
		referTo = h.Value()
	}
	referTo = strings.TrimSpace(referTo)
	if i := strings.IndexByte(referTo, '<'); i >= 0 {
		if j := strings.IndexByte(referTo[i:], '>'); j > 0 {
			referTo = referTo[i+1 : i+j]
		}
	}
	rule := replay.TransferRule{Result: "ok"}
	for i, r := range c.sc.Transfers {
		if !c.rules[i] && (r.Target == "" || r.Target == referTo) {
			c.rules[i] = true
			rule = r
			break
		}
	}
	c.log.Info("refer", "refer_to", referTo, "result", rule.Result, "after", rule.After.String())
	ref := Refer{ReferTo: referTo, Result: rule.Result}
	if referTo == "" {
		c.reply(in, m, 400, "Missing Refer-To", key)
		ref.Result = "bad request"
		c.res.Refers = append(c.res.Refers, ref)
		return
	}
	seq := m.CSeq().SeqNo
	due := notifyDue{referCSeq: seq}
	switch rule.Result {
	case "rejected":
		// The answer itself takes after: nothing is sent meanwhile, and
		// retransmissions of the REFER are answered once it is.
		c.res.Refers = append(c.res.Refers, ref)
		msg := gosip.NewResponseFromRequest(m, 405, "Method Not Allowed", nil)
		msg.AppendHeader(gosip.NewHeader("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, NOTIFY"))
		if rule.After <= 0 {
			c.answered[key] = msg.String()
			_ = c.tr.send(msg.String(), in.from)
			return
		}
		c.answered[key] = "" // retransmissions wait for the answer too
		c.later(ctx, rule.After, func() { _ = c.tr.send(msg.String(), in.from) })
		return
	case "timeout":
		c.reply(in, m, 202, "Accepted", key)
		c.res.Refers = append(c.res.Refers, ref)
		return
	case "busy":
		due.status, due.reason = 486, "Busy Here"
	case "declined":
		due.status, due.reason = 603, "Decline"
	default:
		due.status, due.reason = 200, "OK"
	}
	ref.Notify = due.status
	c.res.Refers = append(c.res.Refers, ref)
	c.reply(in, m, 202, "Accepted", key)
	if rule.After <= 0 {
		c.sendNotify(due)
		return
	}
	c.later(ctx, rule.After, func() {
		select {
		case c.notifies <- due:
		case <-ctx.Done():
		}
	})
}

// later runs fn after d unless ctx ends first; loop waits for it.
func (c *call) later(ctx context.Context, d time.Duration, fn func()) {
	c.referWait.Add(1)
	go func() {
		defer c.referWait.Done()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			fn()
		case <-ctx.Done():
		}
	}()
}

// sendNotify sends the final NOTIFY of a REFER's implicit subscription
// (RFC 3515 §2.4.4), a request in our dialog.
func (c *call) sendNotify(n notifyDue) {
	c.cseq++
	branch := newBranch()
	body := fmt.Sprintf("SIP/2.0 %d %s\r\n", n.status, n.reason)
	msg := c.request("NOTIFY", c.remote, branch, c.cseq, body, "message/sipfrag;version=2.0",
		"Event: refer;id="+strconv.FormatUint(uint64(n.referCSeq), 10),
		"Subscription-State: terminated;reason=noresource")
	c.log.Info("notify", "sipfrag", n.status)
	if err := c.send(msg, "NOTIFY", branch); err != nil {
		c.fail("sip: %v", err)
	}
}

// send sends one of our requests, retransmitted over UDP until answered.
func (c *call) send(msg, method, branch string) error {
	if err := c.tr.send(msg, netip.AddrPort{}); err != nil {
		return err
	}
	if c.tr.udp != nil {
		now := time.Now()
		const t1 = 500 * time.Millisecond
		c.pending[branch] = &outgoing{msg: msg, method: method, next: now.Add(t1), interval: t1, deadline: now.Add(64 * t1)}
	}
	return nil
}

// retransmit resends what is due; it returns true when the INVITE has
// gone unanswered for 64*T1 (Timer B).
func (c *call) retransmit(now time.Time) bool {
	for br, o := range c.pending {
		if now.After(o.deadline) {
			delete(c.pending, br)
			if o.method == "INVITE" {
				return true
			}
			continue
		}
		if o.interval > 0 && now.After(o.next) {
			_ = c.tr.send(o.msg, netip.AddrPort{})
			o.interval *= 2
			if o.method != "INVITE" {
				o.interval = min(o.interval, 4*time.Second)
			}
			o.next = now.Add(o.interval)
		}
	}
	return false
}

// reply answers a request from the server and keeps the answer for its
// retransmissions (key "" keeps nothing).
func (c *call) reply(in inbound, req *gosip.Request, code int, reason, key string, extra ...string) {
	var body []byte
	var headers []string
	for _, e := range extra {
		if strings.Contains(e, ": ") && !strings.Contains(e, "\n") && body == nil {
			headers = append(headers, e)
		} else {
			body = []byte(e)
		}
	}
	res := gosip.NewResponseFromRequest(req, code, reason, body)
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		res.AppendHeader(gosip.NewHeader(name, value))
	}
	if code >= 200 && code < 300 && req.Method == gosip.INVITE || req.Method == gosip.REFER && code == 202 {
		res.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{User: "caller", Host: c.tr.local.Addr().String(), Port: int(c.tr.local.Port())}})
	}
	s := res.String()
	if key != "" {
		c.answered[key] = s
	}
	_ = c.tr.send(s, in.from)
}

// requestURI is the INVITE's Request-URI: the target with the number
// dialled.
func (c *call) requestURI() string {
	u := c.target.Clone()
	u.User = c.user
	u.UriParams = nil
	u.Headers = nil
	if strings.EqualFold(c.tr.proto, "TCP") {
		return u.String() + ";transport=tcp"
	}
	return u.String()
}

// request builds one of our requests in the call's dialog.
func (c *call) request(method, uri, branch string, cseq uint32, body, ctype string, extra ...string) string {
	return c.requestWithTag(method, uri, branch, cseq, c.toTag, body, ctype, extra...)
}

func (c *call) requestWithTag(method, uri, branch string, cseq uint32, toTag, body, ctype string, extra ...string) string {
	var b strings.Builder
	local := c.tr.local.String()
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, uri)
	fmt.Fprintf(&b, "Via: SIP/2.0/%s %s;branch=%s;rport\r\n", c.tr.proto, local, branch)
	for _, r := range c.routes {
		fmt.Fprintf(&b, "Route: %s\r\n", r)
	}
	fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=%s\r\n", cmp.Or(c.sc.Caller, "switchboard-test"), c.tr.local.Addr(), c.fromTag)
	to := fmt.Sprintf("<%s>", c.requestURIPlain())
	if toTag != "" {
		to += ";tag=" + toTag
	}
	fmt.Fprintf(&b, "To: %s\r\n", to)
	fmt.Fprintf(&b, "Call-ID: %s\r\n", c.res.CallID)
	fmt.Fprintf(&b, "CSeq: %d %s\r\n", cseq, method)
	fmt.Fprintf(&b, "Contact: <sip:caller@%s;transport=%s>\r\n", local, strings.ToLower(c.tr.proto))
	b.WriteString("Max-Forwards: 70\r\nUser-Agent: switchboard-test\r\n")
	if method == "INVITE" {
		b.WriteString("Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REFER, NOTIFY\r\n")
	}
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	if body != "" {
		fmt.Fprintf(&b, "Content-Type: %s\r\n", ctype)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.String()
}

func (c *call) requestURIPlain() string {
	u := c.target.Clone()
	u.User = c.user
	u.UriParams = nil
	u.Headers = nil
	return u.String()
}

func newBranch() string { return fmt.Sprintf("z9hG4bK%016x", rand.Uint64()) }

func topBranch(m gosip.Message) string {
	var via *gosip.ViaHeader
	switch m := m.(type) {
	case *gosip.Response:
		via = m.Via()
	case *gosip.Request:
		via = m.Via()
	}
	if via == nil {
		return ""
	}
	b, _ := via.Params.Get("branch")
	return b
}
