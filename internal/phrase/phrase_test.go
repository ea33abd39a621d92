package phrase

import "testing"

func TestContains(t *testing.T) {
	for _, tc := range []struct {
		text, phrase string
		want         bool
	}{
		{"I'd like to pay my bill, please!", "pay my bill", true},
		{"I want Technical Support, please!", "technical support", true},
		{"Technical Support", "technical support", true},
		{"a real person", "real person", true},
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
		{"...", "billing", false},
		{"he said 'billing'", "billing", true}, // quotes are not part of words
		{"i'd like sales", "i'd like", true},
	} {
		if got := Contains(tc.text, tc.phrase); got != tc.want {
			t.Errorf("Contains(%q, %q) = %v, want %v", tc.text, tc.phrase, got, tc.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"  Press 1, then #! ": "press one then",
		"I'd LIKE   sales":    "i'd like sales",
		"":                    "",
		"10 or 11":            "ten or 11",
		"'quoted' ' it's'":    "quoted it's",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}
