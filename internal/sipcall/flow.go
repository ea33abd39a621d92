package sipcall

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-voice/switchboard/internal/records"
	"github.com/switchboard-voice/switchboard/internal/replay"
)

// flowWatch is what the caller can see of the server's flow, for wait
// steps and for barge-in: the node path from the call record (polled) and
// the server's audio (each received frame). It implements
// replay.FlowView; the RTP receiver, the record poller and the sender all
// use it, so every method locks.
//
// The record has no listening state, so it is read from the audio: the
// server sends digital silence whenever no prompt plays, so quietFrames
// of it in a row (longer than the pauses inside a synthesised prompt)
// begin a listening turn, and any prompt audio or a newly entered node
// ends it.
type flowWatch struct {
	quietFrames int
	// kick asks the poller to read the record now: a prompt began, so the
	// flow has most likely just entered a node.
	kick chan struct{}

	mu        sync.Mutex
	path      []string
	visits    map[string]int
	enteredAt map[string]int
	listens   int
	on        bool
	quiet     int // silent frames in a row
	prompt    bool
	lastSound time.Time // the last prompt frame received
	quietFrom time.Time // the first silent frame after it
	silent    bool      // the last frame was silent
	// fresh: prompt audio or a node entered since the last turn began.
	// Silence that follows only the caller's speech (the flow working out
	// the answer) continues the turn it was in.
	fresh bool
	// speech are the caller's say and audio clips as sent; a prompt that
	// ends while one is spoken was stopped by it (barge-in).
	speech  []window
	bargeIn []stop // prompts stopped during the caller's speech
}

// stop is a prompt that ended at, while the caller spoke in speech.
type stop struct {
	at     time.Time
	speech window
}

type window struct{ start, end time.Time } // end zero: still speaking

var _ replay.FlowView = (*flowWatch)(nil)

func newFlowWatch(quiet time.Duration) *flowWatch {
	return &flowWatch{
		quietFrames: replay.Frames(quiet),
		kick:        make(chan struct{}, 1),
		visits:      map[string]int{},
		enteredAt:   map[string]int{},
	}
}

func (w *flowWatch) Visits(node string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.visits[node]
}

func (w *flowWatch) Listening() (bool, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.on, w.listens
}

func (w *flowWatch) EnteredAt(node string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.enteredAt[node]
}

func (w *flowWatch) Snapshot() (map[string]int, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.visits), w.listens
}

// setPath takes the record's path; nodes past the known ones are new
// entries. A node entered ends any listening turn: the flow must be heard
// to listen again after entering it.
func (w *flowWatch) setPath(path []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(path) <= len(w.path) {
		return
	}
	for _, n := range path[len(w.path):] {
		w.visits[n]++
		w.enteredAt[n] = w.listens
	}
	w.path = append(w.path[:0:0], path...)
	w.on, w.quiet, w.fresh = false, 0, true
}

// audio takes one frame of the server's audio: silent or not, and whether
// its packet had the marker bit (a new prompt begins).
func (w *flowWatch) audio(silent, marker bool, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if marker {
		select {
		case w.kick <- struct{}{}:
		default:
		}
		// A new prompt begins (its first frames may be silent): the one
		// before, if any, has ended.
		if w.prompt {
			end := at
			if w.silent {
				end = w.quietFrom
			}
			w.promptEnded(end, at)
		}
		w.quiet, w.on, w.prompt, w.silent, w.fresh = 0, false, true, false, true
	}
	if !silent {
		w.quiet, w.on, w.prompt, w.silent, w.fresh = 0, false, true, false, true
		w.lastSound = at
		return
	}
	if !w.silent {
		w.silent, w.quietFrom = true, at
	}
	w.quiet++
	if w.quiet == w.quietFrames {
		w.on = true
		if w.fresh {
			w.listens++
			w.fresh = false
		}
		if w.prompt {
			w.promptEnded(w.quietFrom, at)
			w.prompt = false
		}
	}
}

// promptEnded notes a prompt whose last sound was followed by silence
// from t, seen to be its end at now: a barge-in when the caller was
// speaking then (or had just finished: the flow acts once the answer is
// recognised) and the prompt was still sounding as the caller began, or
// had only paused between sentences.
func (w *flowWatch) promptEnded(t, now time.Time) {
	const (
		after = 1500 * time.Millisecond // endpointing and recognition
		pause = 500 * time.Millisecond  // longer than a pause between sentences
	)
	for _, s := range w.speech {
		end := s.end
		if end.IsZero() {
			end = now
		}
		if now.After(s.start) && !t.After(end.Add(after)) && !w.lastSound.Before(s.start.Add(-pause)) {
			w.bargeIn = append(w.bargeIn, stop{at: t, speech: s})
			return
		}
	}
}

// speaking notes that the caller's speech starts (on) or stops.
func (w *flowWatch) speaking(on bool, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(w.speech)
	switch {
	case on && (n == 0 || !w.speech[n-1].end.IsZero()):
		w.speech = append(w.speech, window{start: at})
	case !on && n > 0 && w.speech[n-1].end.IsZero():
		w.speech[n-1].end = at
	}
}

// stoppedByCaller returns the prompts that stopped while the caller spoke.
func (w *flowWatch) stoppedByCaller() []stop {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]stop(nil), w.bargeIn...)
}

// recordClient reads call records from the server's HTTP API.
type recordClient struct {
	base string // http://host:port
	http *http.Client
}

func newRecordClient(api string) (*recordClient, error) {
	if !strings.Contains(api, "://") {
		api = "http://" + api
	}
	u, err := url.Parse(api)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("sipcall: --api %q: want http://HOST:PORT", api)
	}
	return &recordClient{base: strings.TrimRight(u.String(), "/"), http: &http.Client{Timeout: 2 * time.Second}}, nil
}

// errNoRecord: the server has no record of the call (yet).
var errNoRecord = errors.New("no record of the call")

// get fetches a call's record.
func (c *recordClient) get(ctx context.Context, callID string) (*records.Record, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/calls/"+url.PathEscape(callID), nil)
	if err != nil {
		return nil, fmt.Errorf("sipcall: record: %w", err)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sipcall: record: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		_, _ = io.Copy(io.Discard, res.Body)
		return nil, errNoRecord
	}
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 200))
		return nil, fmt.Errorf("sipcall: record: GET %s: %s: %s", req.URL, res.Status, strings.TrimSpace(string(b)))
	}
	var rec records.Record
	if err := json.NewDecoder(res.Body).Decode(&rec); err != nil {
		return nil, fmt.Errorf("sipcall: record: %w", err)
	}
	return &rec, nil
}

// poll fetches the record every interval, and at once when w asks, until
// ctx is done, passing each path to w. It returns the last error other than errNoRecord, if any
// fetch failed.
func (c *recordClient) poll(ctx context.Context, callID string, interval time.Duration, w *flowWatch) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last error
	for {
		rec, err := c.get(ctx, callID)
		switch {
		case err == nil:
			w.setPath(rec.Path)
			last = nil
		case !errors.Is(err, errNoRecord) && ctx.Err() == nil:
			last = err
		}
		select {
		case <-ctx.Done():
			return last
		case <-t.C:
		case <-w.kick:
		}
	}
}

// final waits for the call's record to be finished (live false), for up
// to d, and returns the last one read.
func (c *recordClient) final(ctx context.Context, callID string, d time.Duration) (*records.Record, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var rec *records.Record
	var err error
	for {
		var r *records.Record
		r, err = c.get(ctx, callID)
		if err == nil {
			rec = r
			if !r.Live {
				return r, nil
			}
		}
		select {
		case <-ctx.Done():
			if rec != nil {
				return rec, fmt.Errorf("sipcall: record of %s still live %v after the call ended", callID, d)
			}
			if errors.Is(err, errNoRecord) {
				return nil, fmt.Errorf("sipcall: the server has no record of call %s (is --api the same server as --target?)", callID)
			}
			return nil, err
		case <-time.After(50 * time.Millisecond):
		}
	}
}
