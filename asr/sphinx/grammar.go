//go:build sphinx

package sphinx

import (
	"slices"
	"strings"
	"unicode"

	"github.com/switchboard-voice/switchboard/internal/phrase"
)

// leadIns are what callers say before the phrase itself ("I'd like to
// talk to", "connect me to"), so that natural answers match the grammar
// and are not taken for off-grammar speech. Each word must be in the
// dictionary.
//
// Every lead-in is also a way for the decoder to explain the first
// syllables of a one-word answer, so short ones are here only where that
// was measured not to happen. "talk to", "talk with", "it's", "yeah" and
// "ok" fitted those syllables too well: "operator" was heard as "talk to a
// repeat" or "talk with support". On espeak-ng voices the corpus does not
// have (bench/asr-heldout.sh), a lone "operator" was right 3 times in 10
// with all of them, 8 in 10 without them, and 4 in 10 with "talk to" put
// back. "speak to", "get me" and "give me" cost nothing there and are
// kept for requests such as "speak to a human" or "get me an agent": 61 of
// 80 of those reach the operator with them, 52 without.
var leadIns = []string{
	"i want", "i need", "i'd like", "i would like",
	"i want to talk to", "i want to speak to", "i need to talk to", "i need to speak to",
	"i'd like to talk to", "i'd like to speak to", "i would like to talk to", "i would like to speak to",
	"can i talk to", "can i speak to", "let me talk to", "let me speak to",
	"connect me to", "put me through to", "transfer me to",
	"speak to", "get me", "give me",
}

// articles may come between a lead-in and the phrase.
var articles = []string{"a", "an", "the", "my", "some"}

// hesitations may open an utterance.
var hesitations = []string{"um", "uh"}

var digitWords = [...]string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}

// normalize returns a phrase's words as the flow's matcher sees them
// (phrase.Words: "press 10" is "press ten"), with the digits of larger
// numbers spelled one by one ("11" is "one one", "4g" is "four g"): the
// dictionary has no numerals.
func normalize(p string) []string {
	var out []string
	for _, w := range phrase.Words(p) {
		if !strings.ContainsFunc(w, unicode.IsDigit) {
			out = append(out, w)
			continue
		}
		run := []rune(nil)
		flush := func() {
			if t := strings.Trim(string(run), "'"); t != "" {
				out = append(out, t)
			}
			run = run[:0]
		}
		for _, r := range w {
			switch {
			case r >= '0' && r <= '9':
				flush()
				out = append(out, digitWords[r-'0'])
			case unicode.IsLetter(r) || r == '\'':
				run = append(run, r)
			default: // a digit of another script: not a word
				flush()
			}
		}
		flush()
	}
	return out
}

// phraseSet normalises phrases, drops duplicates and empties, and sorts
// them, so that the same hints in any order give the same grammar.
func phraseSet(phrases []string) []string {
	out := make([]string, 0, len(phrases))
	for _, p := range phrases {
		if w := normalize(p); len(w) > 0 {
			out = append(out, strings.Join(w, " "))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// buildJSGF writes the grammar for phrases (normalised, in the dictionary):
// an optional hesitation, an optional lead-in with an optional article, one
// phrase, an optional "please".
func buildJSGF(phrases []string) string {
	var b strings.Builder
	b.WriteString("#JSGF V1.0;\ngrammar g;\n")
	alt := func(name string, items []string) {
		b.WriteString("<" + name + "> = ")
		for i, it := range items {
			if i > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(it)
		}
		b.WriteString(";\n")
	}
	alt("phrase", phrases)
	alt("hes", hesitations)
	alt("lead", leadIns)
	alt("art", articles)
	// An article only after a lead-in: alone, "a", "an" and "the" are
	// what short noises and the first syllable of a phrase get taken for.
	b.WriteString("public <s> = [<hes>] [<lead> [<art>]] <phrase> [please];\n")
	return b.String()
}

// grammarWords are the dictionary words the fixed parts of the grammar
// need.
func grammarWords() []string {
	var ws []string
	for _, group := range [][]string{leadIns, articles, hesitations, {"please"}} {
		for _, p := range group {
			ws = append(ws, strings.Fields(p)...)
		}
	}
	slices.Sort(ws)
	return slices.Compact(ws)
}
