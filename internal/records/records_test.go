package records

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/switchboard-voice/switchboard/ivr"
)

func TestStore(t *testing.T) {
	s := &Store{Keep: 2}
	id := s.Begin(ivr.Info{CallID: "c1", Caller: "100"}, "demo")
	s.Node(id, "greeting")
	if r, ok := s.Get("c1"); !ok || !r.Live || len(r.Path) != 1 {
		t.Fatalf("live record %+v", r)
	}
	s.Finish(id, ivr.Result{Outcome: ivr.OutcomeTransferred, Path: []string{"greeting", "operator"},
		Inputs:        []ivr.Input{{Kind: ivr.InputSpeech, Text: "operator", BargedIn: true}},
		TransferredTo: "sip:op@x", Err: errors.New("ignored")})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/calls/c1", nil))
	var got Record
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Live || got.Outcome != "transferred" || got.TransferredTo != "sip:op@x" || got.Inputs[0].Text != "operator" || !got.Inputs[0].BargedIn || got.Error != "" {
		t.Errorf("record %+v", got)
	}
	for _, id := range []string{"c2", "c3"} {
		s.Begin(ivr.Info{CallID: id}, "demo")
		s.Finish(id, ivr.Result{Outcome: ivr.OutcomeHangup})
	}
	if _, ok := s.Get("c1"); ok {
		t.Error("the oldest record was kept beyond Keep")
	}
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/calls/nope", nil))
	if rec.Code != 404 {
		t.Errorf("unknown call: %d", rec.Code)
	}
}
