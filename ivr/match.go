package ivr

import (
	"strings"
	"unicode"
)

// EndpointPresets are the endpointing presets an ask may name: how long a
// pause ends an answer, and how long an answer may be, by what it expects.
var EndpointPresets = []string{"menu", "yes_no", "digits", "free_text"}

// numberWords spells digits, so that "press 1", "option one" and a
// recogniser that writes "1" all compare equal.
var numberWords = map[string]string{
	"0": "zero", "1": "one", "2": "two", "3": "three", "4": "four",
	"5": "five", "6": "six", "7": "seven", "8": "eight", "9": "nine", "10": "ten",
}

// normalize lower-cases text, turns punctuation into spaces, collapses
// spaces and spells out digits, so that phrases compare word by word.
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
	words := strings.Fields(b.String())
	for i, w := range words {
		if n, ok := numberWords[w]; ok {
			words[i] = n
		}
	}
	return strings.Join(words, " ")
}

// containsPhrase reports whether phrase occurs in text as whole words.
// A long word may be off by one letter ("biling" for "billing"), which
// covers recognisers' and callers' near misses without letting short
// words ("yes", "no") blur into each other.
func containsPhrase(text, phrase string) bool {
	t, p := strings.Fields(normalize(text)), strings.Fields(normalize(phrase))
	if len(p) == 0 || len(p) > len(t) {
		return false
	}
	for i := 0; i+len(p) <= len(t); i++ {
		ok := true
		for j, w := range p {
			if !nearWord(t[i+j], w) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// fuzzyMin is the length from which a word may be one edit away.
const fuzzyMin = 6

// nearWord reports whether a is w, or one edit from it when both are long.
func nearWord(a, w string) bool {
	if a == w {
		return true
	}
	if len(w) < fuzzyMin || len(a) < fuzzyMin-1 {
		return false
	}
	return editDistanceAtMostOne(a, w)
}

func editDistanceAtMostOne(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b)-len(a) > 1 {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if len(a) == len(b) {
		return a[i+1:] == b[i+1:] || i == len(a)
	}
	return a[i:] == b[i+1:]
}

// matchSpeech returns the choices with a phrase in what the caller said.
// The longest matching phrase decides between choices that share words
// ("technical support" beats "support" when both match); choices that
// match equally well are all returned, and the caller hears a no-match
// rather than a coin toss.
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
