package ivr

import "testing"

func TestContainsPhrase(t *testing.T) {
	for _, tc := range []struct {
		text, phrase string
		want         bool
	}{
		{"I'd like to pay my bill, please!", "pay my bill", true},
		{"Technical Support", "technical support", true},
		{"supportive", "support", false},
		{"option 2", "option two", true},
		{"press one", "1", true},
		{"biling please", "billing", true}, // one letter off, long word
		{"representatve", "representative", true},
		{"yet", "yes", false}, // short words must match exactly
		{"sale", "sales", false},
		{"bill", "billing", false},
		{"", "billing", false},
		{"billing", "", false},
	} {
		if got := containsPhrase(tc.text, tc.phrase); got != tc.want {
			t.Errorf("containsPhrase(%q, %q) = %v, want %v", tc.text, tc.phrase, got, tc.want)
		}
	}
}

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
