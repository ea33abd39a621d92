// Package records keeps call records: for every call, live or recently
// ended, who called, which flow it ran, the nodes it went through, what the
// caller said and pressed, and how it ended. Operators read them over HTTP
// (/calls, /calls/ID); `switchboard test --target` reads them to check a
// scenario run against a real server.
package records

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-voice/switchboard/ivr"
)

// Record is one call.
type Record struct {
	CallID string    `json:"call_id"`
	Caller string    `json:"caller"`
	Called string    `json:"called"`
	Flow   string    `json:"flow"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end,omitzero"`
	Live   bool      `json:"live"`
	// Path is the nodes entered so far, in order.
	Path []string `json:"path"`
	// Inputs are the caller's answers, in order: keys or speech.
	Inputs        []Input    `json:"inputs,omitempty"`
	Intents       []string   `json:"intents,omitempty"`
	Transfers     []Transfer `json:"transfers,omitempty"`
	TransferredTo string     `json:"transferred_to,omitempty"`
	Outcome       string     `json:"outcome,omitempty"`
	Error         string     `json:"error,omitempty"`
}

// Input is one answer.
type Input struct {
	Kind       string  `json:"kind"` // digits, speech, no-input
	Digits     string  `json:"digits,omitempty"`
	Text       string  `json:"text,omitempty"`
	Confidence float64 `json:"confidence,omitempty"`
	NoMatch    bool    `json:"no_match,omitempty"`
	BargedIn   bool    `json:"barged_in,omitempty"`
}

// Transfer is one transfer attempt.
type Transfer struct {
	Target  string `json:"target"`
	Outcome string `json:"outcome"`
	Status  int    `json:"status,omitempty"`
}

// Store holds the live calls and the last Keep ended ones.
type Store struct {
	Keep int // ended calls kept; default 1000

	mu    sync.Mutex
	live  map[string]*Record
	ended []*Record // oldest first
}

// Begin records a new call and returns its ID for the updates.
func (s *Store) Begin(info ivr.Info, flow string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live == nil {
		s.live = map[string]*Record{}
	}
	s.live[info.CallID] = &Record{CallID: info.CallID, Caller: info.Caller, Called: info.Called, Flow: flow, Start: time.Now(), Live: true}
	return info.CallID
}

// Node notes that the call entered a node.
func (s *Store) Node(id, node string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.live[id]; r != nil {
		r.Path = append(r.Path, node)
	}
}

// Finish completes the record with the flow's result and moves it to the
// ended calls.
func (s *Store) Finish(id string, res ivr.Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.live[id]
	if r == nil {
		return
	}
	delete(s.live, id)
	r.Live, r.End = false, time.Now()
	r.Path = res.Path
	r.Outcome = res.Outcome.String()
	if res.Err != nil && res.Outcome == ivr.OutcomeError {
		r.Error = res.Err.Error()
	}
	for _, in := range res.Inputs {
		r.Inputs = append(r.Inputs, Input{Kind: in.Kind.String(), Digits: in.Digits, Text: in.Text,
			Confidence: in.Confidence, NoMatch: in.NoMatch, BargedIn: in.BargedIn})
	}
	r.Intents = res.Globals
	for _, t := range res.Transfers {
		r.Transfers = append(r.Transfers, Transfer{Target: t.Target, Outcome: t.Outcome.String(), Status: t.Status})
	}
	r.TransferredTo = res.TransferredTo
	keep := s.Keep
	if keep <= 0 {
		keep = 1000
	}
	s.ended = append(s.ended, r)
	if len(s.ended) > keep {
		s.ended = append(s.ended[:0:0], s.ended[len(s.ended)-keep:]...)
	}
}

// Get returns a copy of a call's record.
func (s *Store) Get(id string) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.live[id]; r != nil {
		return clone(r), true
	}
	for i := len(s.ended) - 1; i >= 0; i-- {
		if s.ended[i].CallID == id {
			return clone(s.ended[i]), true
		}
	}
	return Record{}, false
}

// List returns the live calls and then the ended ones, newest first.
func (s *Store) List() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, r := range s.live {
		out = append(out, clone(r))
	}
	for i := len(s.ended) - 1; i >= 0; i-- {
		out = append(out, clone(s.ended[i]))
	}
	return out
}

func clone(r *Record) Record {
	c := *r
	c.Path = append([]string(nil), r.Path...)
	c.Inputs = append([]Input(nil), r.Inputs...)
	c.Intents = append([]string(nil), r.Intents...)
	c.Transfers = append([]Transfer(nil), r.Transfers...)
	return c
}

// ServeHTTP serves GET /calls (every record) and GET /calls/ID (one).
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	id := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/calls"), "/")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if id == "" {
		_ = enc.Encode(s.List())
		return
	}
	rec, ok := s.Get(id)
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		_ = enc.Encode(map[string]string{"error": "no such call"})
		return
	}
	_ = enc.Encode(rec)
}
