package ivr

import (
	"strings"
	"testing"
)

const speechFlow = `
flow: voice
start: hello
nodes:
  hello:
    say: "Hello."
    next: menu
  menu:
    ask:
      prompt: "Say billing or technical support."
      endpoint: menu
      end_silence: 900ms
      choices:
        - {key: "1", phrases: [billing, pay my bill], next: billing}
        - {key: "2", phrases: [technical support, support, "it's broken"], next: support}
        - {phrases: [sales], next: sales}
      no_match: {say: "Sorry?", reprompt: 1, then: bye}
  billing:
    say: "Billing."
    next: bye
  support:
    say: "Support."
    next: bye
  sales:
    say: "Sales."
    next: bye
  bye:
    hangup: {say: "Bye."}
`

func TestSpeechChoices(t *testing.T) {
	for _, tc := range []struct {
		name   string
		listen []Input
		said   map[string]string
		path   string
	}{
		{"phrase after the prompt", []Input{speech("i want billing please")}, nil, "hello menu billing bye"},
		{"longest phrase wins", []Input{speech("technical support")}, nil, "hello menu support bye"},
		{"synonym", []Input{speech("pay my bill")}, nil, "hello menu billing bye"},
		{"speech only choice", []Input{speech("sales")}, nil, "hello menu sales bye"},
		{"keys still work", []Input{keys("2")}, nil, "hello menu support bye"},
		{"no match then match", []Input{speech(""), speech("billing")}, nil, "hello menu billing bye"},
		{"words that are no choice", []Input{speech("what time is it"), speech("what")}, nil, "hello menu bye"},
		{"answer over the menu prompt", nil, map[string]string{"Say billing": "support please"}, "hello menu support bye"},
		{"answer over the greeting", nil, map[string]string{"Hello.": "billing"}, "hello menu billing bye"},
		{"noise over the greeting is dropped", []Input{speech("sales")}, map[string]string{"Hello.": "hmm"}, "hello menu sales bye"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, p := parseFlow(t, speechFlow)
			c := &fakeCall{t: t, prompts: p, listen: tc.listen, said: tc.said}
			res, _ := runCall(t, f, c)
			if got := strings.Join(res.Path, " "); got != tc.path {
				t.Errorf("path %q, want %q", got, tc.path)
			}
		})
	}
}

func TestSpeechOptions(t *testing.T) {
	f, p := parseFlow(t, speechFlow)
	c := &fakeCall{t: t, prompts: p, listen: []Input{speech("billing")}}
	runCall(t, f, c)
	// The greeting listens with the menu's choices (to take an answer
	// given ahead); the menu with its own, its endpointing and barge-in.
	hello, menu := c.playOpts[0].Speech, c.playOpts[1].Speech
	if hello == nil || len(hello.Choices) != 3 || menu == nil || menu.EndSilence.String() != "900ms" || menu.Endpoint != "menu" {
		t.Fatalf("speech options: hello %+v menu %+v", hello, menu)
	}
	if got := menu.Choices[1]; len(got) != 3 || got[0] != "technical support" {
		t.Errorf("choice phrases %v", got)
	}
}

func TestSpeechParseErrors(t *testing.T) {
	_, err := Parse("t.yaml", []byte(`flow: x
start: a
nodes:
  a:
    barge_in: sometimes
    ask:
      prompt: "Hi."
      endpoint: chatty
      choices:
        - {next: a}
        - {phrases: [], next: a}
`))
	want := []string{
		`t.yaml:5:15: node "a": barge_in: "sometimes" is not speech, hotword or off`,
		`t.yaml:8:17: node "a": endpoint: "chatty" is not one of menu, yes_no, digits, free_text`,
		`t.yaml:10:11: node "a": choice 1: missing "key" or "phrases" (what the caller presses or says)`,
		`t.yaml:11:21: node "a": choice 2: phrases: empty list`,
	}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("errors lack %s:\n%v", w, err)
		}
	}
}

func TestDemoBySpeech(t *testing.T) {
	for words, node := range map[string]string{
		"i want billing please":       "billing",
		"technical support":           "support",
		"sales":                       "sales",
		"can i talk to a real person": "operator",
	} {
		f, p := loadDemo(t)
		c := &fakeCall{t: t, prompts: p, listen: []Input{speech(words)}}
		res, _ := runCall(t, f, c)
		if len(res.Path) < 4 || res.Path[3] != node {
			t.Errorf("%q: path %v, want %s after the menu", words, res.Path, node)
		}
	}
}
