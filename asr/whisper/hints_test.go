package whisper

import (
	"strings"
	"testing"
)

func TestCleanPhrases(t *testing.T) {
	got := cleanPhrases([]string{"Billing", " technical  support ", "", "billing", "Operator!"})
	if strings.Join(got, "|") != "billing|technical support|operator" {
		t.Fatalf("got %q", got)
	}
}

func TestBuildPrompt(t *testing.T) {
	if p := buildPrompt([]string{"billing", "technical support", "operator"}, "en"); p != "Expected: billing, technical support, operator." {
		t.Errorf("en: %q", p)
	}
	if p := buildPrompt([]string{"оплата", "оператор"}, "ru"); p != "Ожидается: оплата, оператор." {
		t.Errorf("ru: %q", p)
	}
	if p := buildPrompt([]string{"billing"}, "auto"); p != "billing." {
		t.Errorf("auto: %q", p)
	}
	if p := buildPrompt(nil, "en"); p != "" {
		t.Errorf("no phrases: %q", p)
	}
	many := make([]string, 200)
	for i := range many {
		many[i] = "a fairly long phrase"
	}
	if p := buildPrompt(many, "en"); len(p) > maxPromptBytes || !strings.HasSuffix(p, ".") {
		t.Errorf("long prompt: %d bytes %q", len(p), p[len(p)-10:])
	}
}

// matches runs the grammar as whisper.cpp's matcher would, over whole
// strings: a tiny recursive interpreter for the element forms buildGrammar
// emits.
func matches(rules [][]grammarElem, s string) bool {
	rs := []rune(s)
	var rule func(id int, pos int) []int
	seq := func(elems []grammarElem, pos int) []int {
		ends := []int{pos}
		for i := 0; i < len(elems); {
			e := elems[i]
			var next []int
			switch e.Type {
			case greRuleRef:
				for _, p := range ends {
					next = append(next, rule(int(e.Value), p)...)
				}
				i++
			case greChar:
				set := []rune{rune(e.Value)}
				i++
				for i < len(elems) && elems[i].Type == greCharAlt {
					set = append(set, rune(elems[i].Value))
					i++
				}
				for _, p := range ends {
					for _, c := range set {
						if p < len(rs) && rs[p] == c {
							next = append(next, p+1)
						}
					}
				}
			}
			ends = next
		}
		return ends
	}
	rule = func(id, pos int) []int {
		var out []int
		var alt []grammarElem
		for _, e := range rules[id] {
			if e.Type == greAlt || e.Type == greEnd {
				out = append(out, seq(alt, pos)...)
				alt = nil
				continue
			}
			alt = append(alt, e)
		}
		return out
	}
	for _, end := range rule(grammarRoot, 0) {
		if end == len(rs) {
			return true
		}
	}
	return false
}

func TestBuildGrammar(t *testing.T) {
	g := buildGrammar([]string{"billing", "technical support", "оператор"})
	for _, r := range g {
		if r[len(r)-1].Type != greEnd {
			t.Fatalf("rule %v does not end", r)
		}
	}
	for s, want := range map[string]bool{
		" Billing.":            true,
		"billing":              true,
		" Technical Support?":  true,
		" Оператор.":           true,
		" operator.":           false,
		" billing billing":     false,
		" Technical":           false,
		" TECHNICAL SUPPORT!":  true,
		" Billing, please.":    false,
		"  billing":            false,
		" billing.":            true,
		" technical  support.": false,
	} {
		if got := matches(g, s); got != want {
			t.Errorf("%q: matches %v, want %v", s, got, want)
		}
	}
	if buildGrammar(nil) != nil {
		t.Error("grammar without phrases")
	}
}

func TestResolveLanguage(t *testing.T) {
	known := func(c string) bool { return c == "en" || c == "ru" || c == "de" }
	for _, tc := range []struct {
		hint, def    string
		multilingual bool
		want         string
		err          bool
	}{
		{"", "auto", true, "auto", false},
		{"", "auto", false, "en", false},
		{"ru", "auto", true, "ru", false},
		{"ru-RU", "en", true, "ru", false},
		{"en-US", "ru", false, "en", false},
		{"", "RU", true, "ru", false},
		{"ru", "en", false, "", true}, // English-only model
		{"xx", "en", true, "", true},
		{"auto", "en", true, "auto", false},
	} {
		got, err := resolveLanguage(tc.hint, tc.def, tc.multilingual, known)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("%+v: got %q, %v", tc, got, err)
		}
	}
}

func TestAudioCtx(t *testing.T) {
	for _, tc := range []struct{ samples, want int }{
		{0, 256},
		{16000, 256},      // 1 s: 50+128 frames, floor 256
		{3 * 16000, 320},  // 150+128 = 278 → 320
		{10 * 16000, 640}, // 500+128 = 628 → 640
		{27 * 16000, 1500},
		{60 * 16000, 1500},
	} {
		if got := audioCtx(tc.samples); got != tc.want {
			t.Errorf("audioCtx(%d) = %d, want %d", tc.samples, got, tc.want)
		}
	}
}
