package asr

import (
	"strings"
	"unicode"
)

// Normalize lower-cases text, turns punctuation into spaces and collapses
// runs of spaces, so that phrases compare word by word.
func Normalize(text string) string {
	var b strings.Builder
	space := true
	for _, r := range strings.ToLower(text) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' {
			b.WriteRune(r)
			space = false
			continue
		}
		if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimSpace(b.String())
}

// ContainsPhrase reports whether phrase occurs in text as whole words
// ("support" is in "technical support please", not in "supportive").
func ContainsPhrase(text, phrase string) bool {
	t, p := " "+Normalize(text)+" ", " "+Normalize(phrase)+" "
	return p != "  " && strings.Contains(t, p)
}

// Matching returns the phrases that occur in text, in the order given.
func Matching(text string, phrases []string) []string {
	var out []string
	for _, p := range phrases {
		if ContainsPhrase(text, p) {
			out = append(out, p)
		}
	}
	return out
}
