// Package phrase owns how what a caller said is compared with the phrases
// a flow expects: text is normalised (case, punctuation, digits spelled out)
// and a phrase must occur as whole words, a long word allowed to be one
// letter off. The listening turn (early endpoint, hotword barge-in) and the
// flow engine (choices, intents, lint) both use it, so that a partial
// result that ends a turn early is matched by the same rule as the final
// one.
package phrase

import (
	"strings"
	"unicode"
)

// numberWords spells digits, so that "press 1", "option one" and a
// recogniser that writes "1" all compare equal.
var numberWords = map[string]string{
	"0": "zero", "1": "one", "2": "two", "3": "three", "4": "four",
	"5": "five", "6": "six", "7": "seven", "8": "eight", "9": "nine", "10": "ten",
}

// Normalize lower-cases text, turns punctuation into spaces, collapses
// spaces and spells out digits, so that phrases compare word by word.
func Normalize(text string) string {
	return strings.Join(Words(text), " ")
}

// Words is Normalize's result as words. Apostrophes stay inside words
// ("i'd") and go at their edges ("'billing'" is "billing"). Numbers from 0
// to 10 are spelled; larger ones stay digits.
func Words(text string) []string {
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
	fields := strings.Fields(b.String())
	ws := fields[:0]
	for _, w := range fields {
		if w = strings.Trim(w, "'"); w == "" {
			continue
		}
		if n, ok := numberWords[w]; ok {
			w = n
		}
		ws = append(ws, w)
	}
	return ws
}

// Contains reports whether phrase occurs in text as whole words ("support"
// is in "technical support please", not in "supportive"). A long word may
// be off by one letter ("biling" for "billing"), which covers recognisers'
// and callers' near misses without letting short words ("yes", "no") blur
// into each other.
func Contains(text, phrase string) bool {
	t, p := Words(text), Words(phrase)
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
