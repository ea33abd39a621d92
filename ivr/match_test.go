package ivr

import "testing"

func TestMatchSpeechTies(t *testing.T) {
	a := &Ask{Choices: []*Choice{
		{Phrases: []string{"account"}, Next: Ref{Node: "a"}},
		{Phrases: []string{"account"}, Next: Ref{Node: "b"}},
		{Phrases: []string{"new account"}, Next: Ref{Node: "c"}},
	}}
	if got := a.matchSpeech("my account"); len(got) != 2 {
		t.Errorf("a tie gave %d choices, want both (a no-match)", len(got))
	}
	if got := a.matchSpeech("a new account"); len(got) != 1 || got[0].Next.Node != "c" {
		t.Errorf("the longer phrase should win: %v", got)
	}
}
