package ivr

import (
	"strings"
	"unicode"
)

// EndpointPresets are the endpointing presets an ask may name: how long a
// pause ends an answer, and how long an answer may be, by what it expects.
var EndpointPresets = []string{"menu", "yes_no", "digits", "free_text"}

// normalize lower-cases text, turns punctuation into spaces and collapses
// spaces, so that phrases compare word by word.
func normalize(text string) string {
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

// containsPhrase reports whether phrase occurs in text as whole words.
func containsPhrase(text, phrase string) bool {
	t, p := " "+normalize(text)+" ", " "+normalize(phrase)+" "
	return p != "  " && strings.Contains(t, p)
}

// matchSpeech returns the choices with a phrase in what the caller said.
// The longest matching phrase decides between choices that share words
// ("technical support" beats "support" when both match).
func (a *Ask) matchSpeech(text string) []*Choice {
	best, bestLen := []*Choice(nil), 0
	for _, c := range a.Choices {
		n := 0
		for _, p := range c.Phrases {
			if containsPhrase(text, p) {
				n = max(n, len(normalize(p)))
			}
		}
		switch {
		case n == 0:
		case n > bestLen:
			best, bestLen = []*Choice{c}, n
		case n == bestLen:
			best = append(best, c)
		}
	}
	return best
}

// phraseGroups returns the choices' phrases, one group per choice.
func (a *Ask) phraseGroups() [][]string {
	var out [][]string
	for _, c := range a.Choices {
		if len(c.Phrases) > 0 {
			out = append(out, c.Phrases)
		}
	}
	return out
}
