package ivr

import "github.com/switchboard-voice/switchboard/internal/phrase"

// EndpointPresets are the endpointing presets an ask may name: how long a
// pause ends an answer, and how long an answer may be, by what it expects.
var EndpointPresets = []string{"menu", "yes_no", "digits", "free_text"}

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
			if phrase.Contains(text, p) {
				n = max(n, len(phrase.Normalize(p)))
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
