package whisper

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// toks makes tokens from whisper-style pieces (a leading space starts a
// word), all with probability p and 100 ms each.
func toks(p float64, pieces ...string) []token {
	ts := make([]token, len(pieces))
	for i, s := range pieces {
		ts[i] = token{Text: s, P: p, T0: int64(i * 10), T1: int64(i*10 + 10)}
	}
	return ts
}

func seg(text string, noSpeech, p float64, pieces ...string) segment {
	return segment{Text: text, NoSpeech: noSpeech, Tokens: toks(p, pieces...)}
}

var opts = filterOptions{MinConfidence: 0.4, NoSpeech: 0.6}

func TestPostprocessText(t *testing.T) {
	res := postprocess([]segment{seg(" Technical support, please.", 0.01, 0.9, " Technical", " support", ",", " please", ".")}, opts)
	if res.NoMatch || res.Text != "technical support please" {
		t.Fatalf("got %+v", res)
	}
	if math.Abs(res.Confidence-0.9) > 1e-9 {
		t.Errorf("confidence %v, want 0.9", res.Confidence)
	}
	if len(res.Words) != 3 || res.Words[1].Text != "support" || res.Words[1].Start != 100*time.Millisecond || res.Words[2].End != 400*time.Millisecond {
		t.Errorf("words %+v", res.Words)
	}
}

func TestPostprocessWordFromPieces(t *testing.T) {
	res := postprocess([]segment{seg(" Оператор.", 0, 0.8, " Опер", "атор", ".")}, opts)
	if res.Text != "оператор" || len(res.Words) != 1 || res.Words[0].End != 200*time.Millisecond {
		t.Fatalf("got %+v", res)
	}
}

func TestPostprocessLowConfidence(t *testing.T) {
	res := postprocess([]segment{seg(" Billing.", 0.1, 0.2, " Billing", ".")}, opts)
	if !res.NoMatch || res.Text != "billing" || res.Confidence > 0.21 {
		t.Fatalf("got %+v, want a low-confidence no-match that keeps its text", res)
	}
}

func TestPostprocessNoSpeech(t *testing.T) {
	for _, s := range []segment{
		seg(" Billing.", 0.7, 0.3, " Billing", "."),  // no speech and unconvincing
		seg(" Billing.", 0.95, 0.9, " Billing", "."), // surely no speech
		{Text: "", NoSpeech: 0.1},                    // no tokens at all
	} {
		if res := postprocess([]segment{s}, opts); !res.NoMatch || res.Text != "" {
			t.Errorf("%+v: got %+v, want an empty no-match", s, res)
		}
	}
	// Likely speech by its tokens despite a middling no-speech probability.
	if res := postprocess([]segment{seg(" Billing.", 0.7, 0.9, " Billing", ".")}, opts); res.NoMatch {
		t.Errorf("got %+v, want billing", res)
	}
}

func TestHallucinations(t *testing.T) {
	for _, tc := range []struct {
		pieces []string
		want   bool
	}{
		{[]string{" Thank", " you", "."}, true},
		{[]string{" Thanks", " for", " watching", "!"}, true},
		{[]string{" you"}, true},
		{[]string{" [", "BLANK", "_", "AUDIO", "]"}, true},
		{[]string{" (", "music", ")"}, true},
		{[]string{" *", "sighs", "*"}, true},
		{[]string{" ♪", "♪"}, true},
		{[]string{" Subtitles", " by", " the", " Amara", ".", "org", " community"}, true},
		{[]string{" Продолжение", " следует", "..."}, true},
		{[]string{" Субтитры", " сделал", " DimaTorzok"}, true},
		{[]string{" Billing", "."}, false},
		{[]string{" Thank", " you", ",", " operator", " please"}, false},
	} {
		res := postprocess([]segment{seg(strings.Join(tc.pieces, ""), 0.1, 0.9, tc.pieces...)}, opts)
		if got := res.NoMatch && res.Text == ""; got != tc.want {
			t.Errorf("%q: got %+v, want hallucination=%v", strings.Join(tc.pieces, ""), res, tc.want)
		}
	}
}

func TestHallucinationMarkerInsideSpeech(t *testing.T) {
	res := postprocess([]segment{seg(" Billing [BLANK_AUDIO]", 0.1, 0.9, " Billing", " [", "BLANK", "_", "AUDIO", "]")}, opts)
	if res.Text != "billing" || res.NoMatch {
		t.Fatalf("got %+v", res)
	}
}

func TestHallucinationHintedPhrase(t *testing.T) {
	o := opts
	o.Phrases = []string{"thank you"}
	if res := postprocess([]segment{seg(" Thank you.", 0.1, 0.9, " Thank", " you", ".")}, o); res.NoMatch || res.Text != "thank you" {
		t.Fatalf("a hinted phrase is not a hallucination: got %+v", res)
	}
}

func TestRepeatedSegment(t *testing.T) {
	s := seg(" Billing.", 0.1, 0.9, " Billing", ".")
	res := postprocess([]segment{s, s, s}, opts)
	if res.Text != "billing" {
		t.Fatalf("got %q, want one billing", res.Text)
	}
}

func TestCollapseRepeats(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"no no", "no no"},
		{"no no no no", "no"},
		{"operator operator operator", "operator"},
		{"one two one two", "one two one two"},
		{"one two one two one two", "one two"},
		{"i want to pay my bill i want to pay my bill", "i want to pay my bill"},
		{"yes please yes please yes please then", "yes please then"},
		{"billing", "billing"},
		{"", ""},
	} {
		words := strings.Fields(tc.in)
		var got []string
		for _, i := range collapseRepeats(words) {
			got = append(got, words[i])
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, strings.Join(got, " "), tc.want)
		}
	}
}

func TestRepetitionLoopIsNoMatch(t *testing.T) {
	pieces := []string{}
	for range 5 {
		pieces = append(pieces, " I", "'m", " going", " to", " the", " store", ".")
	}
	res := postprocess([]segment{seg(strings.Join(pieces, ""), 0.1, 0.9, pieces...)}, opts)
	if !res.NoMatch || res.Text != "" {
		t.Fatalf("got %+v, want a loop no-match", res)
	}
	// A caller insisting is not a loop.
	res = postprocess([]segment{seg(" Operator operator operator", 0.1, 0.9, " Operator", " operator", " operator")}, opts)
	if res.NoMatch || res.Text != "operator" {
		t.Fatalf("got %+v, want operator", res)
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		" Technical Support!":       "technical support",
		"Don’t  know...":            "don't know",
		"'Quoted', she said.":       "quoted she said",
		" Оплата счёта, пожалуйста": "оплата счёта пожалуйста",
		"Option 2.":                 "option 2",
		"---":                       "",
	} {
		if got := normalize(in); got != want {
			t.Errorf("normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func sine(n int, amp float64) []int16 {
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(amp * math.Sin(2*math.Pi*440*float64(i)/16000))
	}
	return pcm
}

func TestEnergyMeter(t *testing.T) {
	var m energyMeter
	m.add(sine(16000, 30)) // -60 dBFS hiss
	if m.speech() {
		t.Fatal("quiet audio counted as speech")
	}
	// Loud audio in odd-sized pieces straddling frames: 100 ms is enough.
	loud := sine(energyFrame*minLoudFrames+100, 3000)
	for len(loud) > 0 {
		k := min(37, len(loud))
		m.add(loud[:k])
		loud = loud[k:]
	}
	if !m.speech() {
		t.Fatalf("loud frames %d, want speech", m.loud)
	}
}

func TestWriteAllocs(t *testing.T) {
	frame := sine(320, 3000)
	buf := make([]float32, 0, 320*100)
	var m energyMeter
	allocs := testing.AllocsPerRun(50, func() {
		buf = appendFloat(buf[:0], frame)
		m.add(frame)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per frame", allocs)
	}
	if buf[1] != float32(frame[1])/32768 {
		t.Fatalf("sample %v, want %v", buf[1], float32(frame[1])/32768)
	}
}

func TestPostprocessEmpty(t *testing.T) {
	if res := postprocess(nil, opts); !reflect.DeepEqual(res.NoMatch, true) || res.Text != "" {
		t.Fatalf("got %+v", res)
	}
}
