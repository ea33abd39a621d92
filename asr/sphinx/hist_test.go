//go:build sphinx

package sphinx

import (
	"context"
	"testing"
)

// TestDecoderHistoryDoesNotMatter: a decoder that has served other callers
// hears the same audio exactly as a fresh one does.
func TestDecoderHistoryDoesNotMatter(t *testing.T) {
	files := []string{
		"intent-agent-enus-160-clean.wav", "menu-sales-enus-130-clean.wav",
		"offgrammar-my-internet-is-broken-enusm3-160-clean.wav", "menu-billing-enus-130-clean.wav",
		"intent-representative-enus-190-clean.wav", "distractor-cough-double.wav",
	}
	fresh := map[string]string{}
	for _, f := range files {
		r, err := New(Config{Decoders: 1})
		if err != nil {
			t.Fatal(err)
		}
		res, _, err := recognize(context.Background(), r, corpusHints, load16k(t, f))
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		fresh[f] = res.Text
	}
	r, err := New(Config{Decoders: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for round := range 3 {
		for _, f := range files {
			res, _, err := recognize(context.Background(), r, corpusHints, load16k(t, f))
			if err != nil {
				t.Fatal(err)
			}
			if res.Text != fresh[f] {
				t.Errorf("round %d, %s: a used decoder heard %q, a fresh one %q", round, f, res.Text, fresh[f])
			}
		}
	}
}
