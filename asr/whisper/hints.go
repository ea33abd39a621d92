package whisper

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/switchboard-voice/switchboard/asr"
)

// cleanPhrases normalises hinted phrases and drops empty ones and
// duplicates, keeping their order.
func cleanPhrases(ps []string) []string {
	out := make([]string, 0, len(ps))
	seen := make(map[string]bool, len(ps))
	for _, p := range ps {
		p = normalize(p)
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// maxPromptBytes bounds the initial prompt: whisper uses at most 224 prompt
// tokens, and a long prompt slows every decode step.
const maxPromptBytes = 600

// promptLabels introduce the phrase list in the prompt, in the language
// being recognised: an English label would pull a Russian decode towards
// English.
var promptLabels = map[string]string{
	"en": "Expected: ",
	"ru": "Ожидается: ",
}

// buildPrompt makes whisper's initial prompt from the hinted phrases:
// "Expected: billing, technical support, operator." Whisper reads the
// prompt as the text preceding the audio, so it biases spelling and
// vocabulary without restricting them.
func buildPrompt(phrases []string, lang string) string {
	if len(phrases) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(promptLabels[lang])
	for i, p := range phrases {
		if b.Len()+len(p)+3 > maxPromptBytes {
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p)
	}
	b.WriteByte('.')
	return b.String()
}

// Grammar element types, as enum whisper_gretype in whisper.h.
const (
	greEnd      = 0 // end of a rule
	greAlt      = 1 // start of an alternative
	greRuleRef  = 2 // reference to a rule
	greChar     = 3 // a code point
	greCharAlt  = 6 // another code point for the preceding character set
	grammarRoot = 0 // index of the start rule
)

// grammarElem is a whisper_grammar_element.
type grammarElem struct {
	Type  uint32
	Value uint32
}

// buildGrammar compiles the hinted phrases into whisper.cpp's grammar
// format, equivalent to the GBNF
//
//	root    ::= space phrase punct
//	space   ::= " " |
//	phrase  ::= [bB] [iI] [lL] ... | [oO] [pP] ... | ...
//	punct   ::= [.!?,] |
//
// Whisper.cpp subtracts the grammar penalty from the logits of tokens the
// grammar rejects, so the grammar is a strong bias, not a cage: with a
// moderate penalty, clearly different speech still comes through as itself
// and the flow's matcher turns it into a no-match.
func buildGrammar(phrases []string) [][]grammarElem {
	if len(phrases) == 0 {
		return nil
	}
	root := []grammarElem{{greRuleRef, 1}, {greRuleRef, 2}, {greRuleRef, 3}, {greEnd, 0}}
	space := []grammarElem{{greChar, ' '}, {greAlt, 0}, {greEnd, 0}}
	var phrase []grammarElem
	for i, p := range phrases {
		if i > 0 {
			phrase = append(phrase, grammarElem{greAlt, 0})
		}
		for _, r := range p {
			phrase = append(phrase, grammarElem{greChar, uint32(r)})
			if u := unicode.ToUpper(r); u != r {
				phrase = append(phrase, grammarElem{greCharAlt, uint32(u)})
			}
		}
	}
	phrase = append(phrase, grammarElem{greEnd, 0})
	punct := []grammarElem{
		{greChar, '.'}, {greCharAlt, '!'}, {greCharAlt, '?'}, {greCharAlt, ','},
		{greAlt, 0}, {greEnd, 0},
	}
	return [][]grammarElem{root, space, phrase, punct}
}

// resolveLanguage picks the language of one utterance: the hint's primary
// subtag ("en-US" → "en"), else the configured default. "auto" lets whisper
// detect the language (multilingual models only; English-only models always
// use "en"). known reports whether whisper knows a language code.
func resolveLanguage(hint, def string, multilingual bool, known func(string) bool) (string, error) {
	lang := hint
	if lang == "" {
		lang = def
	}
	lang = strings.ToLower(lang)
	if i := strings.IndexAny(lang, "-_"); i >= 0 {
		lang = lang[:i]
	}
	switch {
	case lang == "" || lang == "auto":
		if !multilingual {
			return "en", nil
		}
		return "auto", nil
	case !known(lang):
		return "", fmt.Errorf("language %q is not one whisper knows", lang)
	case !multilingual && lang != "en":
		return "", fmt.Errorf("language %q needs a multilingual model (this one is English-only, *.en.bin)", lang)
	}
	return lang, nil
}

// Audio context: whisper's encoder normally attends over 1500 frames
// (30 s, 50 frames a second) whatever the length of the audio. Encoding only
// the utterance plus a margin makes short utterances several times faster;
// the margin keeps whisper from cutting the last word and the floor keeps
// very short utterances from hallucinating on a tiny context.
const (
	audioCtxMax    = 1500
	audioCtxMargin = 128 // frames, 2.56 s
	audioCtxMin    = 256
)

// audioCtx is the whisper_full_params.audio_ctx for n samples: rounded up to
// a multiple of 64 frames, which keeps the encoder's matrices aligned.
func audioCtx(n int) int {
	frames := (n*50 + asr.SampleRate - 1) / asr.SampleRate
	c := max(frames+audioCtxMargin, audioCtxMin)
	c = (c + 63) / 64 * 64
	return min(c, audioCtxMax)
}
