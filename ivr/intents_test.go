package ivr

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const globalsFlow = `
flow: g
start: hello
globals:
  operator: {next: agent}
  repeat:
  goodbye: {next: bye}
escalation: {after: 3, say: "Let me get you a person."}
nodes:
  hello:
    say: "Hello {{caller}}."
    barge_in: off
    next: menu
  menu:
    ask:
      prompt: "Say billing."
      choices:
        - {key: "1", phrases: [billing], next: billing}
      no_input: {reprompt: 5, then: bye}
      no_match: {say: "Sorry.", reprompt: 5, then: bye}
  billing:
    say: "Billing."
    next: bye
  agent:
    transfer:
      say: "Connecting you."
      targets: [sip:first@pbx.example, sip:second@pbx.example]
      timeout: 10s
      fallback: {say: "Nobody is free.", next: menu}
  bye:
    hangup: {say: "Bye."}
`

func TestGlobalIntents(t *testing.T) {
	for _, tc := range []struct {
		name   string
		listen []Input
		said   map[string]string
		xfer   map[string]TransferResult
		path   string
		out    Outcome
		to     string
	}{
		{"operator by voice", []Input{speech("i want an operator")}, nil, nil, "hello menu agent", OutcomeTransferred, "sip:first@pbx.example"},
		{"operator by 0", []Input{keys("0")}, nil, nil, "hello menu agent", OutcomeTransferred, "sip:first@pbx.example"},
		{"operator over a prompt that cannot be interrupted", nil, map[string]string{"Hello": "operator please"}, nil, "hello agent", OutcomeTransferred, "sip:first@pbx.example"},
		{"first target busy", []Input{keys("0")}, nil, map[string]TransferResult{"sip:first@pbx.example": {Outcome: TransferFailed, Status: 486}}, "hello menu agent", OutcomeTransferred, "sip:second@pbx.example"},
		{"all fail: fallback to the menu", []Input{keys("0"), speech("billing")}, nil, map[string]TransferResult{
			"sip:first@pbx.example":  {Outcome: TransferFailed, Status: 603},
			"sip:second@pbx.example": {Outcome: TransferTimeout},
		}, "hello menu agent menu billing bye", OutcomeHangup, ""},
		{"goodbye", []Input{speech("goodbye")}, nil, nil, "hello menu bye", OutcomeHangup, ""},
		{"repeat does not count as a failure", []Input{speech("repeat"), speech("billing")}, nil, nil, "hello menu billing bye", OutcomeHangup, ""},
		{"escalation after three failures", []Input{silence, speech("what"), silence}, nil, nil, "hello menu agent", OutcomeTransferred, "sip:first@pbx.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, p := parseFlow(t, globalsFlow)
			c := &fakeCall{t: t, prompts: p, listen: tc.listen, said: tc.said, transfers: tc.xfer}
			res, logs := runCall(t, f, c)
			if got := strings.Join(res.Path, " "); got != tc.path {
				t.Errorf("path %q, want %q", got, tc.path)
			}
			if res.Outcome != tc.out || res.TransferredTo != tc.to {
				t.Errorf("outcome %v to %q, want %v to %q", res.Outcome, res.TransferredTo, tc.out, tc.to)
			}
			if tc.out == OutcomeTransferred && c.hangups != 0 {
				t.Errorf("hung up a transferred call")
			}
			if tc.name == "escalation after three failures" && !strings.Contains(logs, "msg=escalation") {
				t.Errorf("no escalation logged")
			}
		})
	}
}

func TestGlobalsCannotBeShadowed(t *testing.T) {
	// The node offers "operator" and key 0 for something else; the global
	// intent still wins.
	src := strings.Replace(globalsFlow, `        - {key: "1", phrases: [billing], next: billing}`,
		`        - {key: "1", phrases: [billing], next: billing}
        - {key: "0", phrases: [operator], next: billing}`, 1)
	for _, in := range []Input{keys("0"), speech("operator")} {
		f, p := parseFlow(t, src)
		c := &fakeCall{t: t, prompts: p, listen: []Input{in}}
		res, _ := runCall(t, f, c)
		if res.Outcome != OutcomeTransferred {
			t.Errorf("%+v: path %v outcome %v", in, res.Path, res.Outcome)
		}
	}
}

func TestTemplatedPromptAndSpeechOptions(t *testing.T) {
	f, p := parseFlow(t, globalsFlow)
	c := &fakeCall{t: t, prompts: p, listen: []Input{speech("billing")}}
	runCall(t, f, c)
	if c.played[0] != "Hello 1001." {
		t.Errorf("first prompt %q, want the caller's number filled in", c.played[0])
	}
	sp := c.playOpts[1].Speech
	if sp == nil || len(sp.Intents) != 3 || sp.Intents[0][0] != "operator" {
		t.Errorf("intents given to the recogniser: %+v", sp)
	}
}

func TestSetAndWebhook(t *testing.T) {
	var got *http.Request
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		switch r.URL.Query().Get("caller") {
		case "1001":
			fmt.Fprint(w, `{"customer": {"name": "Ada", "tier": 2}, "open_tickets": [{"id": 7}]}`)
		default:
			http.Error(w, "no", http.StatusNotFound)
		}
	}))
	defer crm.Close()
	src := `
flow: w
start: lookup
nodes:
  lookup:
    webhook:
      url: "` + crm.URL + `/lookup?caller={{caller}}"
      headers: {X-Token: "secret-{{called}}"}
      timeout: 1s
      set: {name: customer.name, tier: customer.tier, ticket: open_tickets.0.id, missing: nope.nope}
      on_error: stranger
    next: mark
  mark:
    set: {greeting: "Welcome back {{name}}"}
    next: known
  known:
    say: "{{greeting}}, tier {{tier}}, ticket {{ticket}}{{missing}}."
    next: bye
  stranger:
    say: "Welcome."
    next: bye
  bye:
    hangup: {}
`
	f, p := parseFlow(t, src)
	c := &fakeCall{t: t, prompts: p}
	res, _ := runCall(t, f, c)
	if got == nil || got.Header.Get("X-Token") != "secret-" {
		t.Fatalf("request %+v", got)
	}
	if strings.Join(res.Path, " ") != "lookup mark known bye" || c.played[0] != "Welcome back Ada, tier 2, ticket 7." {
		t.Errorf("path %v played %q", res.Path, c.played)
	}
	// A failing lookup takes the error branch.
	c = &fakeCall{t: t, prompts: p}
	c.caller = "999"
	res, _ = runCall(t, f, c)
	if strings.Join(res.Path, " ") != "lookup stranger bye" {
		t.Errorf("failing webhook: path %v", res.Path)
	}
}

func TestIntentParseErrors(t *testing.T) {
	_, err := Parse("t.yaml", []byte(`flow: x
start: a
globals:
  operator: {}
  hours: {phrases: [opening hours]}
  lunch: {key: "0", next: a}
escalation: {after: 99}
nodes:
  a:
    transfer:
      targets: [http://example.com, "sip:ok@pbx"]
  b:
    webhook: {url: "ftp://x", body: "{}"}
    next: a
  c:
    set: {caller: "x"}
    next: a
`))
	for _, w := range []string{
		`t.yaml:4:3: global "operator": missing "next"`,
		`t.yaml:5:3: global "hours": missing "next"`,
		`t.yaml:6:3: global "lunch": key "0" is already the operator intent's`,
		`t.yaml:7:21: escalation: after: 99 is out of range (0 to 20)`,
		`t.yaml:11:17: node "a": targets: "http://example.com": scheme "http" is not sip, sips or tel`,
		`t.yaml:13:20: node "b": url: "ftp://x" is not an http or https URL`,
		`node "b": body needs method: POST`,
		`node "b": missing "on_error" in webhook`,
		`t.yaml:16:11: node "c": set: caller is set by the call and cannot be changed`,
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("errors lack %s:\n%v", w, err)
		}
	}
}

func TestDefaultGoodbyeHangsUp(t *testing.T) {
	// No globals: key: repeat and goodbye are there anyway; goodbye ends
	// the call at once.
	f, p := parseFlow(t, `
flow: plain
start: menu
nodes:
  menu:
    ask:
      prompt: "Say billing."
      choices: [{key: "1", phrases: [billing], next: bye}]
      no_input: {reprompt: 1, then: bye}
      no_match: {reprompt: 1, then: bye}
  bye:
    hangup: {say: "Bye."}
`)
	c := &fakeCall{t: t, prompts: p, listen: []Input{speech("goodbye")}}
	res, _ := runCall(t, f, c)
	if strings.Join(res.Path, " ") != "menu" || res.Outcome != OutcomeHangup || c.hangups != 1 {
		t.Errorf("path %v outcome %v hangups %d", res.Path, res.Outcome, c.hangups)
	}
}
