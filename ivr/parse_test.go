package ivr

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const demoPath = "../configs/flows/demo.yaml"

func TestLoadDemo(t *testing.T) {
	f, err := Load(demoPath)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if f.Name != "demo" || f.Start.Node != "disclosure" {
		t.Errorf("name, start = %q, %q", f.Name, f.Start.Node)
	}
	want := []string{"disclosure", "greeting", "menu", "billing", "support", "support_internet", "support_phone", "sales", "operator", "goodbye"}
	if strings.Join(f.Order, " ") != strings.Join(want, " ") {
		t.Errorf("Order = %v, want %v", f.Order, want)
	}
	if f.Nodes["disclosure"].BargeIn != BargeInOff {
		t.Error("the disclosure must play in full")
	}
	menu := f.Nodes["menu"]
	if menu.Kind != KindAsk {
		t.Fatalf("menu kind = %v", menu.Kind)
	}
	a := menu.Ask
	if a.Timeout != 5*time.Second || a.InterDigit != DefaultInterDigit || a.MaxDigits != 1 || len(a.Choices) != 3 {
		t.Errorf("menu ask = %+v", a)
	}
	if a.NoInput.Reprompt != 1 || a.NoInput.Then.Node != "goodbye" || a.NoMatch.Say == nil {
		t.Errorf("menu retries = %+v / %+v", a.NoInput, a.NoMatch)
	}
	if p := menu.Pos; p.Line == 0 || p.Col != 3 {
		t.Errorf("menu Pos = %v", p)
	}
	if p := a.Choices[0].Fields["next"]; p.Line == 0 || p.Col == 0 {
		t.Errorf("choice 1 next position missing: %v", a.Choices[0].Fields)
	}
	// Product rule: prompts stay short.
	for _, p := range f.prompts {
		if n := len(strings.Fields(p.Text)); n > 25 {
			t.Errorf("%s: prompt %s has %d words, want at most 25", p.Pos, p, n)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "unknown next",
			yaml: `flow: t
start: menu
nodes:
  menu:
    ask:
      prompt: "Press 1."
      choices:
        - key: "1"
          next: billing
        - key: "2"
          next: bilingg
  billing:
    hangup: {}
`,
			want: []string{`t.yaml:11:17: node "menu": choice 2: unknown next node "bilingg" (did you mean "billing"?)`},
		},
		{
			name: "unknown key",
			yaml: `flow: t
start: a
nodes:
  a:
    say: "Hello."
    nxt: b
  b:
    hangup:
`,
			want: []string{
				`t.yaml:5:5: node "a": missing "next" (the node after say; end a flow with a hangup node)`,
				`t.yaml:6:5: node "a": unknown key "nxt" (did you mean "next"?)`,
			},
		},
		{
			name: "unknown top-level key",
			yaml: `flow: t
start: a
global: {}
nodes:
  a:
    hangup: {}
`,
			want: []string{`t.yaml:3:1: unknown key "global" (did you mean "globals"?)`},
		},
		{
			name: "duplicate DTMF key",
			yaml: `flow: t
start: a
nodes:
  a:
    ask:
      prompt: "Press 1."
      choices:
        - {key: 1, next: a}
        - {key: "1", next: a}
`,
			want: []string{`t.yaml:9:17: node "a": choice 2: duplicate key "1" (choice 1 has it)`},
		},
		{
			name: "duplicate node id",
			yaml: `flow: t
start: a
nodes:
  a:
    hangup: {}
  a:
    goto: a
`,
			want: []string{`t.yaml:6:3: duplicate node "a" (first defined at line 4)`},
		},
		{
			name: "bad durations",
			yaml: `flow: t
start: a
nodes:
  a:
    ask:
      prompt: "Press 1."
      timeout: 5x
      inter_digit: 3
      choices: [{key: "1", next: a}]
`,
			want: []string{
				`t.yaml:7:16: node "a": timeout: bad duration "5x" (write e.g. 5s or 1500ms)`,
				`t.yaml:8:20: node "a": inter_digit: 3 has no unit (write e.g. 3s)`,
			},
		},
		{
			name: "missing start",
			yaml: `flow: t
nodes:
  a:
    hangup: {}
`,
			want: []string{`t.yaml:1:1: missing "start" (the id of the first node)`},
		},
		{
			name: "unknown start",
			yaml: `flow: t
start: greting
nodes:
  greeting:
    hangup: {}
`,
			want: []string{`t.yaml:2:8: unknown start node "greting" (did you mean "greeting"?)`},
		},
		{
			name: "node with two kinds",
			yaml: `flow: t
start: a
nodes:
  a:
    say: "Hello."
    hangup: {}
`,
			want: []string{`t.yaml:6:5: node "a": has both say and hangup; a node does one thing (chain nodes with next)`},
		},
		{
			name: "node with no kind",
			yaml: `flow: t
start: a
nodes:
  a:
    barge_in: false
`,
			want: []string{`t.yaml:4:3: node "a": nothing to do: want one of say, ask, goto, hangup, transfer, set, webhook`},
		},
		{
			name: "bad prompt type",
			yaml: `flow: t
start: a
nodes:
  a:
    say: ["Hello."]
    next: b
  b:
    hangup: {say: {text: "Bye.", file: bye.wav}}
`,
			want: []string{
				`t.yaml:5:10: node "a": say: want text, {text: ...} or {file: ...}; got a list`,
				`t.yaml:8:34: node "b": say: has both text and file; give one`,
			},
		},
		{
			name: "wrong types",
			yaml: `flow: t
start: a
nodes:
  a:
    barge_in: "no"
    ask:
      prompt: "Press 1."
      max_digits: one
      choices: {key: "1", next: a}
      no_match: {reprompt: 99}
`,
			want: []string{
				`t.yaml:5:15: node "a": barge_in: "no" is not speech, hotword or off`,
				`t.yaml:8:19: node "a": max_digits: want a whole number, got "one"`,
				`t.yaml:9:16: node "a": choices: want a list, got a mapping`,
				`t.yaml:10:28: node "a": no_match: reprompt: 99 is out of range (0 to 10)`,
			},
		},
		{
			name: "unquoted hash key and bad keys",
			yaml: `flow: t
start: a
nodes:
  a:
    ask:
      prompt: "Press 1."
      max_digits: 1
      terminator: "#"
      choices:
        - key: #
          next: a
        - key: "12"
          next: a
        - key: "x"
          next: a
`,
			want: []string{
				`t.yaml:10:15: node "a": choice 1: key: want DTMF keys such as "1", got nothing (quote "#" and "*": in YAML a bare # starts a comment)`,
				`t.yaml:12:16: node "a": choice 2: key "12" is longer than max_digits 1`,
				`t.yaml:14:16: node "a": choice 3: key: "x" is not DTMF keys (use 0-9, *, #, A-D)`,
			},
		},
		{
			name: "next on the wrong kind",
			yaml: `flow: t
start: a
nodes:
  a:
    goto: b
    next: b
    barge_in: false
  b:
    hangup: {}
    next: a
`,
			want: []string{
				`t.yaml:6:5: node "a": next does not apply to a goto node (goto names the next node)`,
				`t.yaml:7:5: node "a": barge_in does not apply to a goto node (it plays nothing)`,
				`t.yaml:10:5: node "b": next does not apply to a hangup node (it ends the call)`,
			},
		},
		{
			name: "not a mapping",
			yaml: "- a\n- b\n",
			want: []string{`t.yaml:1:1: a flow file is a mapping with flow, start and nodes; got a list`},
		},
		{
			name: "yaml syntax error",
			yaml: "flow: t\nstart: a\nnodes:\n  a: {goto: a\n",
			want: []string{`t.yaml:3: yaml: did not find expected ',' or '}'`},
		},
		{
			name: "empty",
			yaml: "# nothing here\n",
			want: []string{`t.yaml:1:1: empty flow file`},
		},
		{
			name: "two documents",
			yaml: "flow: t\nstart: a\nnodes:\n  a: {hangup: {}}\n---\nflow: u\n",
			want: []string{`t.yaml:5:1: more than one YAML document; a flow file holds one flow`},
		},
		{
			name: "several errors at once",
			yaml: `flow: t
start: menu
nodes:
  menu:
    ask:
      prompt: "Press 1 or 2."
      timeout: soon
      choices:
        - {key: "1", next: nowhere}
        - {key: "2", nxt: menu}
      no_input: {then: gone}
  menu:
    say: "Again."
`,
			want: []string{
				`t.yaml:7:16: node "menu": timeout: bad duration "soon" (write e.g. 5s or 1500ms)`,
				`t.yaml:9:28: node "menu": choice 1: unknown next node "nowhere"`,
				`t.yaml:10:11: node "menu": choice 2: missing "next"`,
				`t.yaml:10:22: node "menu": choice 2: unknown key "nxt" (did you mean "next"?)`,
				`t.yaml:11:24: node "menu": no_input: unknown then node "gone"`,
				`t.yaml:12:3: duplicate node "menu" (first defined at line 4)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("t.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded (%d nodes), want errors:\n%s", len(f.Nodes), strings.Join(tt.want, "\n"))
			}
			if f != nil {
				t.Error("Parse returned a flow along with errors")
			}
			got := strings.Split(err.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Path != "t.yaml" {
				t.Errorf("errors.As(*Error) = %v, %+v", pe != nil, pe)
			}
		})
	}
}

func TestParseFormsAndDefaults(t *testing.T) {
	const src = `flow: forms
start: a
nodes:
  a:
    say: {file: prompts/hello.wav}
    barge_in: true
    next: b
  b:
    ask:
      prompt: {text: "Enter your code, then press pound."}
      terminator: "#"
      choices:
        - {key: "1234", next: c}
        - {key: "*", next: c}
  c:
    hangup:
`
	f, err := Parse(filepath.Join("configs", "flows", "forms.yaml"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	a := f.Nodes["a"]
	if a.Say.File != "prompts/hello.wav" || a.Say.Path != filepath.Join("configs", "flows", "prompts", "hello.wav") {
		t.Errorf("file prompt = %+v", a.Say)
	}
	if a.BargeIn != BargeInSpeech {
		t.Errorf("barge_in: true gave %v", a.BargeIn)
	}
	b := f.Nodes["b"].Ask
	if b.MaxDigits != 4 || b.Terminator != "#" || b.Timeout != DefaultTimeout {
		t.Errorf("ask defaults = max %d term %q timeout %v", b.MaxDigits, b.Terminator, b.Timeout)
	}
	if b.NoInput.Reprompt != DefaultReprompt || b.NoInput.Then.Node != "" || b.NoMatch.Reprompt != DefaultReprompt {
		t.Errorf("retry defaults = %+v %+v", b.NoInput, b.NoMatch)
	}
	if c := f.Nodes["c"]; c.Kind != KindHangup || c.Hangup.Say != nil {
		t.Errorf("bare hangup = %+v", c)
	}
}

func TestAskComplete(t *testing.T) {
	a := &Ask{MaxDigits: 3, Terminator: "#"}
	for _, tt := range []struct {
		keys, entry, rest string
		ok                bool
	}{
		{"", "", "", false},
		{"12", "", "12", false},
		{"123", "123", "", true},
		{"1234", "123", "4", true},
		{"1#", "1", "", true},
		{"#", "", "", true},
		{"12#5", "12", "5", true},
	} {
		entry, rest, ok := a.complete(tt.keys)
		if entry != tt.entry || rest != tt.rest || ok != tt.ok {
			t.Errorf("complete(%q) = %q, %q, %v; want %q, %q, %v", tt.keys, entry, rest, ok, tt.entry, tt.rest, tt.ok)
		}
	}
}

// FuzzParse checks that no input makes Parse panic, and that whatever it
// accepts is internally consistent.
func FuzzParse(f *testing.F) {
	demo, err := os.ReadFile(demoPath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(demo)
	f.Add([]byte("flow: t\nstart: a\nnodes:\n  a: {goto: a}\n"))
	f.Add([]byte("a: &x {b: *x}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fl, err := Parse("f.yaml", data)
		if err != nil {
			return
		}
		if _, ok := fl.Nodes[fl.Start.Node]; !ok {
			t.Fatalf("start %q is not a node", fl.Start.Node)
		}
		for _, id := range fl.Order {
			if fl.Nodes[id].Kind == 0 {
				t.Fatalf("node %q has no kind", id)
			}
		}
	})
}
