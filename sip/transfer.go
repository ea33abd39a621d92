package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/ivr"
)

// TransferOutcome is how a transfer ended: the flow engine's type, so the
// outcome reaches the flow as it is.
type TransferOutcome = ivr.TransferOutcome

// The outcomes of a transfer (see ivr.TransferOutcome). The zero value is
// no outcome at all: the transfer was never attempted (Refer returned an
// error).
const (
	// TransferOK: a NOTIFY carried a final 2xx sipfrag; the caller is
	// connected to the target and we have hung up our leg.
	TransferOK = ivr.TransferOK
	// TransferFailed: a NOTIFY carried a final 3xx-6xx sipfrag, or the
	// subscription was terminated without any final status.
	TransferFailed = ivr.TransferFailed
	// TransferRejected: the REFER itself was answered with a non-2xx
	// (405, 501, 603, 488, ...); the caller's UA will not try the target.
	TransferRejected = ivr.TransferRejected
	// TransferTimeout: no final NOTIFY within the timeout, or no answer to
	// the REFER at all.
	TransferTimeout = ivr.TransferTimeout
	// TransferCallerGone: the call ended while we waited (the caller hung
	// up, or the server ended the call).
	TransferCallerGone = ivr.TransferCallerGone
)

// TransferResult says how a transfer attempt ended.
type TransferResult struct {
	Outcome TransferOutcome
	// Status is the final status of the sipfrag (TransferOK,
	// TransferFailed) or the REFER's response code (TransferRejected);
	// 0 when there was none.
	Status int
	// Reason is the reason phrase that came with Status, or what happened
	// when there was no status.
	Reason string
	// Elapsed runs from sending the REFER to the outcome.
	Elapsed time.Duration
}

// DefaultTransferTimeout is used when Transfer is given no timeout. A UA
// that cannot reach the target reports it only when its own INVITE times
// out (32 s in baresip), so waiting much longer gains nothing.
const DefaultTransferTimeout = 30 * time.Second

// referWait is a transfer waiting for the NOTIFYs of its REFER's implicit
// subscription (RFC 3515 §2.4.4). It lives in Call.transfer while Transfer
// runs.
type referWait struct {
	cseq  uint32         // the REFER's CSeq: the id in Event: refer;id=…
	notes chan referNote // what the NOTIFYs said, in the order they came
}

// referNote is what one NOTIFY said about the transfer.
type referNote struct {
	status      int    // sipfrag status code; 0 when the body had none
	reason      string // sipfrag reason phrase
	terminated  bool   // Subscription-State: terminated
	stateReason string // its reason parameter (noresource, timeout, …)
}

// Refer hands the caller to target with a REFER inside the caller's
// dialog (RFC 3515), with Refer-To: <target> and Referred-By: the URI the
// caller called (RFC 3892). It waits for the REFER's 2xx (202, or 200 from
// some UAs) and then for the NOTIFY whose message/sipfrag body (RFC 3420)
// carries a final status, answering every NOTIFY 200 OK, until timeout
// (DefaultTransferTimeout when 0) has passed since the REFER was sent. The
// 202 only says the caller's UA will try (RFC 3515 §2.4.2): it is never
// taken as success.
//
// On a final 2xx the caller is connected elsewhere: Transfer sends our BYE,
// ends the call and returns TransferOK. Every other outcome leaves the call
// up, media flowing, so the flow can try the next target or apologise.
//
// target comes from configuration, never from the caller, and must be a
// sip:, sips: or tel: URI; anything else is an error and nothing is sent.
// The error is also set when a REFER cannot be sent at all, or when ctx is
// done while the call is still up (the result's Outcome is then
// TransferTimeout). A call that ends meanwhile gives TransferCallerGone and
// no error. Transfer is meant to be called from the handler's goroutine,
// one transfer at a time.
func (c *Call) Refer(ctx context.Context, target string, timeout time.Duration) (TransferResult, error) {
	uri, err := parseTransferTarget(target)
	if err != nil {
		return TransferResult{}, err
	}
	if timeout <= 0 {
		timeout = DefaultTransferTimeout
	}
	if c.ctx.Err() != nil {
		return TransferResult{Outcome: TransferCallerGone, Reason: "call already ended"}, nil
	}
	if err := ctx.Err(); err != nil {
		return TransferResult{}, fmt.Errorf("sip: transfer: %w", err)
	}
	log := c.log.With("target", uri)

	req := c.inDialogRequest(gosip.REFER)
	// The target is always bracketed: a URI with ';', ',' or '?' must be
	// (RFC 3515 §2.1), and the rest may be.
	req.AppendHeader(gosip.NewHeader("Refer-To", "<"+uri+">"))
	req.AppendHeader(gosip.NewHeader("Referred-By", "<"+c.invite.To().Address.String()+">"))
	w := &referWait{cseq: req.CSeq().SeqNo, notes: make(chan referNote, 16)}

	// The waiter is in place before the REFER leaves: the first NOTIFY may
	// overtake the 202 (RFC 3515 §2.4.4; RFC 6665 §4.1.2.4).
	c.mu.Lock()
	switch {
	case c.ended:
		c.mu.Unlock()
		return TransferResult{Outcome: TransferCallerGone, Reason: "call already ended"}, nil
	case c.transfer != nil:
		c.mu.Unlock()
		return TransferResult{}, errors.New("sip: transfer: another transfer is in progress")
	}
	c.transfer = w
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.transfer == w {
			c.transfer = nil
		}
		c.mu.Unlock()
	}()

	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	txCtx, cancelTx := context.WithTimeout(ctx, timeout)
	defer cancelTx()
	start := time.Now()
	log.Info("transfer: sending refer", "cseq", w.cseq, "timeout", timeout.String())
	tx, err := c.lis.client.TransactionRequest(txCtx, req, sipgo.ClientRequestAddVia)
	if err != nil {
		log.Warn("transfer: refer not sent", "error", err)
		return TransferResult{Elapsed: time.Since(start)}, fmt.Errorf("sip: transfer: send refer: %w", err)
	}
	defer tx.Terminate()

	result := func(o TransferOutcome, status int, reason string) TransferResult {
		return TransferResult{Outcome: o, Status: status, Reason: reason, Elapsed: time.Since(start)}
	}
	responses, txDone := tx.Responses(), tx.Done()
	accepted := false
	for {
		select {
		case res := <-responses:
			switch {
			case res.IsProvisional():
				continue
			case res.IsSuccess():
				accepted = true
				responses, txDone = nil, nil
				log.Info("transfer: refer accepted", "code", res.StatusCode, "elapsed", time.Since(start).Round(time.Millisecond).String())
			default:
				r := result(TransferRejected, res.StatusCode, res.Reason)
				log.Warn("transfer: refer rejected", "code", res.StatusCode, "reason", res.Reason, "outcome", r.Outcome.String())
				return r, nil
			}
		case <-txDone:
			// Timer F, or a transport error, before any final response
			// (RFC 3261 §17.1.2.2).
			r := result(TransferTimeout, 0, "no answer to refer")
			log.Warn("transfer: no answer to refer", "error", tx.Err(), "outcome", r.Outcome.String())
			return r, nil
		case n := <-w.notes:
			switch {
			case n.status >= 200:
				// A final NOTIFY that overtook the REFER's 2xx settles
				// the matter as well: only an accepted REFER has a
				// subscription to notify about.
				return c.transferDone(log, n, result), nil
			case n.terminated:
				r := result(TransferFailed, 0, "subscription terminated without a final status")
				if n.stateReason != "" {
					r.Reason += " (" + n.stateReason + ")"
				}
				log.Warn("transfer: failed", "outcome", r.Outcome.String(), "reason", r.Reason)
				return r, nil
			default:
				log.Info("transfer: progress", "sipfrag", n.status, "reason", n.reason)
			}
		case <-deadline.C:
			r := result(TransferTimeout, 0, "no final notify")
			if !accepted {
				r.Reason = "no answer to refer"
			}
			log.Warn("transfer: timed out", "outcome", r.Outcome.String(), "reason", r.Reason)
			return r, nil
		case <-c.byeRecv:
			return c.transferGone(log, result), nil
		case <-c.ctx.Done():
			return c.transferGone(log, result), nil
		case <-ctx.Done():
			if c.ctx.Err() != nil {
				return c.transferGone(log, result), nil
			}
			r := result(TransferTimeout, 0, "abandoned")
			log.Warn("transfer: abandoned", "error", ctx.Err())
			return r, fmt.Errorf("sip: transfer: %w", ctx.Err())
		}
	}
}

// transferDone ends a transfer on a final sipfrag status: on 2xx our leg is
// hung up, on anything else the call stays as it is.
func (c *Call) transferDone(log *slog.Logger, n referNote, result func(TransferOutcome, int, string) TransferResult) TransferResult {
	if n.status >= 300 {
		r := result(TransferFailed, n.status, n.reason)
		log.Warn("transfer: failed", "sipfrag", n.status, "reason", n.reason, "outcome", r.Outcome.String())
		return r
	}
	r := result(TransferOK, n.status, n.reason)
	log.Info("transferred", "sipfrag", n.status, "elapsed", r.Elapsed.Round(time.Millisecond).String())
	// The caller's UA keeps our leg up until we end it (baresip does), and
	// RFC 5589 §6.1 has the transferor send the BYE.
	c.bye("transferred")
	c.cancel(ivr.ErrHangup)
	return r
}

func (c *Call) transferGone(log *slog.Logger, result func(TransferOutcome, int, string) TransferResult) TransferResult {
	r := result(TransferCallerGone, 0, "call ended")
	if cause := context.Cause(c.ctx); cause != nil {
		r.Reason = cause.Error()
	}
	log.Info("transfer: call ended while waiting", "outcome", r.Outcome.String(), "reason", r.Reason)
	return r
}

// onNotify answers a NOTIFY and passes what it says to the transfer
// waiting for it. Within a known dialog every refer NOTIFY is answered
// 200, even one no transfer waits for any more: a 481 would tell the
// caller's UA that our dialog is gone (RFC 6665 §4.1.3 and §4.2.2).
func (s *Server) onNotify(req *gosip.Request, tx gosip.ServerTransaction) {
	c := s.inDialog(req, tx)
	if c == nil {
		return
	}
	event, id, ok := parseEvent(req)
	if !ok {
		// A missing Event header is a broken NOTIFY (RFC 6665 §8.2.1),
		// but a refer NOTIFY is the only kind we can be sent: take it as
		// one rather than lose the transfer's outcome.
		event = "refer"
	}
	if event != "refer" {
		respond(tx, req, 489, "Bad Event", gosip.NewHeader("Allow-Events", "refer"))
		return
	}
	respond(tx, req, 200, "OK")
	c.readNotify(req, id)
}

// readNotify hands a NOTIFY (already answered) to the waiting transfer.
// id is the Event header's id parameter; an empty one means the only
// REFER (RFC 3515 §2.4.6).
func (c *Call) readNotify(req *gosip.Request, id string) {
	n := referNote{}
	n.terminated, n.stateReason = parseSubscriptionState(req)
	var fragErr error
	if isSipfrag(req) {
		n.status, n.reason, fragErr = parseSipfrag(req.Body())
	} else if len(req.Body()) > 0 {
		fragErr = errors.New("not message/sipfrag")
	}
	c.mu.Lock()
	if req.CSeq().SeqNo > c.remoteCSeq {
		c.remoteCSeq = req.CSeq().SeqNo
	}
	w := c.transfer
	c.mu.Unlock()
	log := c.log.With("sipfrag", n.status, "reason", n.reason, "terminated", n.terminated, "event_id", id)
	if fragErr != nil {
		log.Warn("transfer: notify body unreadable", "error", fragErr)
	}
	if w == nil || (id != "" && id != strconv.FormatUint(uint64(w.cseq), 10)) {
		// A NOTIFY of a transfer given up on (timeout, rejected): too late
		// to count, but worth knowing if it says the caller got through.
		if n.status >= 200 && n.status < 300 {
			log.Warn("transfer: late notify says an abandoned transfer succeeded")
		} else {
			log.Info("transfer: notify for no pending transfer")
		}
		return
	}
	log.Debug("transfer: notify")
	select {
	case w.notes <- n:
	default:
		log.Warn("transfer: notify dropped, too many queued")
	}
}

// onRefer declines a caller's REFER: transfer targets come from our
// configuration only, never from what a caller sends (RFC 3515 §2.4.2
// lets a UA refuse).
func (s *Server) onRefer(req *gosip.Request, tx gosip.ServerTransaction) {
	if code, reason := checkRequest(req); code != 0 {
		respond(tx, req, code, reason)
		return
	}
	if to := req.To(); to.Params != nil && to.Params.Has("tag") && s.findDialog(req) == nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	s.log.Warn("refer from caller declined", "call_id", req.CallID().Value(), "refer_to", headerValue(req, "Refer-To", "r"))
	respond(tx, req, 603, "Decline")
}

// parseTransferTarget checks a configured target and returns it without
// angle brackets: a sip: or sips: URI with a host, or a tel: URI.
func parseTransferTarget(target string) (string, error) {
	uri := strings.TrimSpace(target)
	if strings.HasPrefix(uri, "<") && strings.HasSuffix(uri, ">") {
		uri = uri[1 : len(uri)-1]
	}
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("sip: transfer target %q: %s", target, why)
	}
	if uri == "" {
		return bad("empty")
	}
	// Whatever could end the header or the bracketed URI early.
	if strings.ContainsAny(uri, " \t\r\n<>\"") || strings.ContainsFunc(uri, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return bad("contains spaces, quotes, brackets or control characters")
	}
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok {
		return bad("not a URI")
	}
	switch strings.ToLower(scheme) {
	case "sip", "sips":
		var u gosip.Uri
		if err := gosip.ParseUri(uri, &u); err != nil {
			return bad(err.Error())
		}
		if u.Host == "" {
			return bad("no host")
		}
	case "tel":
		// RFC 3966: a global number (+ digits) or a local one; visual
		// separators allowed, parameters after ';'.
		number, _, _ := strings.Cut(rest, ";")
		digits := 0
		for _, r := range number {
			switch {
			case r >= '0' && r <= '9', r == '*', r == '#', r >= 'A' && r <= 'F', r >= 'a' && r <= 'f':
				digits++
			case strings.ContainsRune("+-.()", r):
			default:
				return bad("not a telephone number")
			}
		}
		if digits == 0 {
			return bad("no number")
		}
	default:
		return bad("scheme must be sip, sips or tel")
	}
	return uri, nil
}

// parseEvent reads the Event header (compact form "o"): the package name,
// lower case, and its id parameter (RFC 6665 §8.2.1).
func parseEvent(req *gosip.Request) (event, id string, ok bool) {
	v := headerValue(req, "Event", "o")
	if v == "" {
		return "", "", false
	}
	event, params := splitParams(v)
	return strings.ToLower(event), params["id"], true
}

// parseSubscriptionState reads Subscription-State: whether it is
// terminated, and the reason it gives (RFC 6665 §4.1.3).
func parseSubscriptionState(req *gosip.Request) (terminated bool, reason string) {
	state, params := splitParams(headerValue(req, "Subscription-State", ""))
	return strings.EqualFold(state, "terminated"), params["reason"]
}

// splitParams splits "value;a=1;b" into "value" and {a: 1, b: ""}, with
// parameter names in lower case.
func splitParams(v string) (string, map[string]string) {
	parts := strings.Split(v, ";")
	params := make(map[string]string, len(parts)-1)
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(p, "=")
		params[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(val), `"`)
	}
	return strings.TrimSpace(parts[0]), params
}

func headerValue(req *gosip.Request, name, compact string) string {
	h := req.GetHeader(name)
	if h == nil && compact != "" {
		h = req.GetHeader(compact)
	}
	if h == nil {
		return ""
	}
	return strings.TrimSpace(h.Value())
}

// isSipfrag tells whether the NOTIFY's body is message/sipfrag; the version
// parameter is optional (RFC 3420 §3). A body without a Content-Type is
// taken as sipfrag, since that is what a refer NOTIFY carries.
func isSipfrag(req *gosip.Request) bool {
	ct := req.ContentType()
	if ct == nil {
		return len(req.Body()) > 0
	}
	mt, _ := splitParams(ct.Value())
	return strings.EqualFold(mt, "message/sipfrag")
}

// parseSipfrag reads the status line a refer NOTIFY carries, e.g.
// "SIP/2.0 200 OK" (RFC 3515 §2.4.5; RFC 3420 §2). Header lines after it
// are allowed and ignored.
func parseSipfrag(body []byte) (int, string, error) {
	text := strings.TrimLeft(string(body), " \t\r\n")
	line, _, _ := strings.Cut(text, "\n")
	line = strings.TrimRight(line, "\r")
	version, rest, ok := strings.Cut(line, " ")
	if !ok || !strings.EqualFold(version, "SIP/2.0") {
		return 0, "", fmt.Errorf("sipfrag %q: not a SIP status line", truncate(line, 40))
	}
	codeText, reason, _ := strings.Cut(rest, " ")
	code, err := strconv.Atoi(codeText)
	if err != nil || len(codeText) != 3 || code < 100 || code > 699 {
		return 0, "", fmt.Errorf("sipfrag %q: bad status code", truncate(line, 40))
	}
	return code, strings.TrimSpace(reason), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Transfer is Refer for the flow engine (ivr.Call).
func (c *Call) Transfer(ctx context.Context, target string, timeout time.Duration) (ivr.TransferResult, error) {
	r, err := c.Refer(ctx, target, timeout)
	return ivr.TransferResult{Outcome: r.Outcome, Status: r.Status, Reason: r.Reason}, err
}
