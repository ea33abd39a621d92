package sipcall

import (
	"testing"
	"time"
)

// feed gives w frames of the server's audio from t: '#' prompt, '.'
// silence, 'M' a prompt frame with the marker bit, 'm' a silent one with
// it. It returns the time after the last frame.
func feed(w *flowWatch, t time.Time, frames string) time.Time {
	for _, f := range frames {
		w.audio(f == '.' || f == 'm', f == 'M' || f == 'm', t)
		t = t.Add(20 * time.Millisecond)
	}
	return t
}

func TestFlowWatchListening(t *testing.T) {
	w := newFlowWatch(100 * time.Millisecond) // 5 frames
	at := time.Now()
	w.setPath([]string{"menu"})
	at = feed(w, at, "M###...##....")
	if on, turn := w.Listening(); on || turn != 0 {
		t.Fatalf("listening %t, turn %d inside a prompt's pause", on, turn)
	}
	at = feed(w, at, ".")
	if on, turn := w.Listening(); !on || turn != 1 || w.EnteredAt("menu") != 0 {
		t.Fatalf("listening %t, turn %d after 5 silent frames", on, turn)
	}
	// The caller answers; the flow works it out in silence: the same turn.
	at = feed(w, at, "..........")
	if _, turn := w.Listening(); turn != 1 {
		t.Fatalf("turn %d: silence after the caller's speech began a new turn", turn)
	}
	// A node entered without a prompt (answered ahead) listens anew.
	w.setPath([]string{"menu", "next"})
	if on, _ := w.Listening(); on {
		t.Fatal("still listening after a node was entered")
	}
	feed(w, at, ".....")
	if on, turn := w.Listening(); !on || turn != 2 || w.EnteredAt("next") != 1 || w.Visits("next") != 1 {
		t.Fatalf("listening %t, turn %d, entered at %d", on, turn, w.EnteredAt("next"))
	}
}

func TestFlowWatchBargeIn(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before string // server frames before the caller speaks
		during string // while the caller speaks (10 frames)
		after  string
		want   bool
	}{
		{"stopped by speech", "M#####", "###.......", ".....", true},
		{"stopped after a sentence pause", "M#####...", "..........", "..", true},
		{"next prompt with leading silence", "M#####", "##########", "##m..###", true},
		{"caller spoke while the flow listened", "M###.........", "..........", "M###", false},
		{"prompt played through", "M#####", "##########", "####", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newFlowWatch(100 * time.Millisecond)
			at := feed(w, time.Now(), tc.before)
			w.speaking(true, at)
			at = feed(w, at, tc.during)
			w.speaking(false, at)
			feed(w, at, tc.after)
			if got := len(w.stoppedByCaller()) > 0; got != tc.want {
				t.Errorf("barge-in %t, want %t", got, tc.want)
			}
		})
	}
}
