package ivr

import (
	"path/filepath"
	"strings"
	"testing"
)

// lintFile loads a flow that must load, and lints it.
func lintFile(t *testing.T, path string) []Finding {
	t.Helper()
	f, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return Lint(f)
}

func findingLines(fs []Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.String()
	}
	return out
}

func TestLintDemo(t *testing.T) {
	for _, f := range lintFile(t, demoPath) {
		if f.Severity == SeverityError {
			t.Errorf("demo flow: %s", f)
		} else {
			t.Logf("demo flow: %s", f)
		}
	}
}

// TestLintRules lints one bad flow per rule (testdata/flows/lint) and
// compares every finding, position and message.
func TestLintRules(t *testing.T) {
	const dir = "../testdata/flows/lint/"
	tests := []struct {
		file string
		want []string
	}{
		{"unreachable.yaml", []string{
			`unreachable.yaml:15:3: error: node "old_menu" is unreachable: no path from start "menu" leads to it`,
			`unreachable.yaml:22:3: error: node "old_billing" is unreachable: no path from start "menu" leads to it`,
		}},
		{"loop.yaml", []string{
			`loop.yaml:16:3: error: node "intro" has no way forward: every path from it goes round without reaching a hangup or transfer node (only a global intent gets the caller out)`,
			`loop.yaml:19:3: error: node "news" loops without asking the caller anything (news > more > news): the call goes round until it is dropped; put an ask in the loop or end it with a hangup or transfer node`,
		}},
		{"trap.yaml", []string{
			`trap.yaml:8:10: warning: escalation is off (after: 0): a caller who keeps failing loops instead of reaching a person`,
			`trap.yaml:10:3: error: node "menu" has no way forward: every path from it goes round without reaching a hangup or transfer node (only a global intent gets the caller out)`,
			`trap.yaml:17:3: error: node "hours" has no way forward: every path from it goes round without reaching a hangup or transfer node (only a global intent gets the caller out)`,
		}},
		{"no_retry.yaml", []string{
			`no_retry.yaml:10:7: error: node "menu": ask has no no_input: a caller who says nothing is hung up on without a goodbye; add no_input: {then: NODE}`,
			`no_retry.yaml:10:7: error: node "menu": ask has no no_match: a caller whose answer matches no choice is hung up on without a goodbye; add no_match: {then: NODE}`,
			`no_retry.yaml:15:7: error: node "confirm": ask has no no_match: a caller whose answer matches no choice is hung up on without a goodbye; add no_match: {then: NODE}`,
		}},
		{"prompt_file.yaml", []string{
			`prompt_file.yaml:12:15: error: node "menu": prompt: prompt file "prompts/menu.wav" does not exist (looked for ../testdata/flows/lint/prompts/menu.wav)`,
		}},
		{"sip_uri.yaml", []string{
			`sip_uri.yaml:20:11: error: node "person": transfer target "sip:operator@pbx.example.com:50x0" has port "50x0", which is not a number`,
			`sip_uri.yaml:21:11: error: node "person": transfer target "sip:@pbx.example.com" has an empty user part (write sip:user@host or sip:host)`,
			`sip_uri.yaml:22:11: error: node "person": transfer target "sip:operator@pbx_1.example.com" has a bad host name "pbx_1.example.com" (letters, digits, - and dots)`,
			`sip_uri.yaml:23:11: error: node "person": transfer target "sip:operator@10.0.0.300" has a bad IPv4 address "10.0.0.300"`,
			`sip_uri.yaml:24:11: error: node "person": transfer target "sip:operator@pbx.example.com:70000" has port 70000, out of range (1-65535)`,
			`sip_uri.yaml:25:11: error: node "person": transfer target "sip:operator@pbx.example.com:" has an empty port`,
			`sip_uri.yaml:26:11: error: node "person": transfer target "tel:;phone-context=example.com" has no phone number`,
		}},
		{"no_operator.yaml", []string{
			`no_operator.yaml:3:1: error: no operator intent (the flow has no globals:): callers cannot ask for a person; add globals: {operator: {next: NODE}} with NODE a transfer node`,
			`no_operator.yaml:25:3: error: node "card": the nearest person is 3 caller actions away; a person must be at most 2 away`,
		}},
		{"operator_next.yaml", []string{
			`operator_next.yaml:6:20: error: global "operator": next "menu" does not lead to a transfer node (a person is 1 more caller action away); saying "operator" or pressing 0 must hand the call to a person`,
		}},
		{"escalation_next.yaml", []string{
			`escalation_next.yaml:8:9: error: escalation: next "menu" does not lead to a transfer node (a person is 1 more caller action away); a caller who is struggling must reach a person`,
		}},
		{"shadowed.yaml", []string{
			`shadowed.yaml:18:16: error: node "menu": choice 2: key "0" is the operator intent's key; global intents win at every node, so this choice is never taken by key`,
			`shadowed.yaml:21:15: error: node "menu": choice 2: phrase "talk to an agent" contains the operator intent's phrase "agent"; global intents win, so saying it never picks this choice`,
			`shadowed.yaml:22:15: error: node "menu": choice 2: phrase "person" is part of the operator intent's phrase "a real person": a caller who says "a real person" gets the operator intent, not this choice`,
			`shadowed.yaml:23:15: error: node "menu": choice 2: phrase "hang up" is the goodbye intent's; global intents win, so saying it never picks this choice`,
		}},
		{"long_prompt.yaml", []string{
			`long_prompt.yaml:9:15: warning: node "menu": prompt: prompt has 30 words; callers lose track of long prompts: keep it to 25 (split it over two nodes)`,
		}},
		{"big_menu.yaml", []string{
			`big_menu.yaml:11:9: warning: node "menu": menu has 6 choices; callers keep 4 or 5 in mind at most: split it into two levels`,
		}},
		{"shared_phrases.yaml", []string{
			`shared_phrases.yaml:12:32: warning: node "menu": choice 2: phrase "technical support" contains choice 1's phrase "support": the longest phrase wins, so "technical support" picks choice 2 and "support" alone choice 1`,
			`shared_phrases.yaml:13:32: warning: node "menu": choice 3: phrase "my bill" contains choice 1's phrase "bill": the longest phrase wins, so "my bill" picks choice 3 and "bill" alone choice 1`,
			`shared_phrases.yaml:13:41: warning: node "menu": choice 3: phrase "Support" is also choice 1's: saying it matches both, which counts as no match`,
			`shared_phrases.yaml:13:41: warning: node "menu": choice 3: phrase "Support" is part of choice 2's phrase "technical support": the longest phrase wins, so "technical support" picks choice 2 and "Support" alone choice 3`,
		}},
		{"escalation_off.yaml", []string{
			`escalation_off.yaml:7:10: warning: escalation is off (after: 0): a caller who keeps failing loops instead of reaching a person`,
		}},
	}
	files, err := filepath.Glob(dir + "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests) {
		t.Errorf("%d flows in %s, %d tests: give each a test", len(files), dir, len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := findingLines(lintFile(t, dir+tt.file))
			want := make([]string, len(tt.want))
			for i, w := range tt.want {
				want[i] = dir + w
			}
			if g, w := strings.Join(got, "\n"), strings.Join(want, "\n"); g != w {
				t.Errorf("findings:\n%s\nwant:\n%s", g, w)
			}
		})
	}
}

// TestLintInline covers what the files do not: a webhook on the way to a
// person (the caller cannot choose its outcome), set and say nodes that
// take no caller action, a flow without any transfer node, and positions
// when the flow file cannot be read again (Parse from memory).
func TestLintInline(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{
			name: "operator through say, set and a webhook whose both exits reach a person",
			yaml: `flow: t
start: menu
globals:
  operator: {next: note}
nodes:
  menu:
    ask:
      prompt: "Press 1."
      choices:
        - {key: "1", next: bye}
      no_input: {then: bye}
      no_match: {then: bye}
  note:
    set: {wanted: operator}
    next: lookup
  lookup:
    webhook: {url: "https://crm.example.com/agent", on_error: connecting}
    next: person
  connecting:
    say: "Connecting you."
    next: person
  person:
    transfer: {targets: ["sip:operator@example.com"]}
  bye:
    hangup: {}
`,
		},
		{
			name: "operator through a webhook that may fall back to a menu",
			yaml: `flow: t
start: menu
globals:
  operator: {next: lookup}
nodes:
  menu:
    ask:
      prompt: "Press 1."
      choices:
        - {key: "1", next: person}
      no_input: {then: bye}
      no_match: {then: bye}
  lookup:
    webhook: {url: "https://crm.example.com/agent", on_error: menu}
    next: person
  person:
    transfer: {targets: ["sip:operator@example.com"]}
  bye:
    hangup: {}
`,
			want: []string{`t.yaml:4:20: error: global "operator": next "lookup" does not lead to a transfer node (a person is 1 more caller action away); saying "operator" or pressing 0 must hand the call to a person`},
		},
		{
			name: "no transfer node at all: one finding, not one per node",
			yaml: `flow: t
start: menu
globals:
  repeat:
nodes:
  menu:
    ask:
      prompt: "Press 1."
      choices:
        - {key: "1", phrases: [billing, my bill], next: bye}
        - {key: "2", phrases: [bill], next: bye}
      no_input: {then: bye}
      no_match: {then: bye}
  bye:
    hangup: {}
`,
			want: []string{
				`t.yaml:4:3: error: no operator intent in globals: callers cannot ask for a person (and the flow has no transfer node to send them to); add operator: {next: NODE} with NODE a transfer node`,
				// t.yaml is not on disk: the phrase falls back to its choice's phrases.
				`t.yaml:11:31: warning: node "menu": choice 2: phrase "bill" is part of choice 1's phrase "my bill": the longest phrase wins, so "my bill" picks choice 1 and "bill" alone choice 2`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(filepath.Join(t.TempDir(), "missing", "t.yaml"), []byte(tt.yaml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var got []string
			for _, fd := range Lint(f) {
				got = append(got, filepath.Base(fd.Path)+strings.TrimPrefix(fd.String(), fd.Path))
			}
			if g, w := strings.Join(got, "\n"), strings.Join(tt.want, "\n"); g != w {
				t.Errorf("findings:\n%s\nwant:\n%s", g, w)
			}
		})
	}
}

func TestCheckTargetURI(t *testing.T) {
	good := []string{
		"sip:operator@127.0.0.1:5090", "sip:pbx.example.com", "sips:agent@pbx.example.com;transport=tls",
		"sip:+15550100;phone-context=example.com@gw.example.com", "sip:alice:secret@example.com",
		"sip:[2001:db8::1]", "sip:op@[::1]:5060", "sip:op@example.com?subject=help", "tel:+1-555-0100", "tel:7042;phone-context=example.com",
	}
	for _, u := range good {
		if msg := checkTargetURI(u); msg != "" {
			t.Errorf("%s: %s", u, msg)
		}
	}
	bad := []string{
		"sip:@example.com", "sip:op@example.com:", "sip:op@example.com:0", "sip:op@example.com:5o60",
		"sip:op@[::1", "sip:op@[::1]5060", "sip:op@[1.2.3.4]", "sip:op@-pbx.example.com", "sip:op@pbx..example.com",
		"sip:op@256.1.1.1", "tel:abc", "tel:+1x555",
	}
	for _, u := range bad {
		if msg := checkTargetURI(u); msg == "" {
			t.Errorf("%s: accepted", u)
		}
	}
}

func TestFindingString(t *testing.T) {
	for _, tt := range []struct {
		f    Finding
		want string
	}{
		{Finding{Path: "a.yaml", Pos: Pos{3, 5}, Severity: SeverityError, Msg: "m"}, "a.yaml:3:5: error: m"},
		{Finding{Path: "a.yaml", Pos: Pos{3, 5}, Severity: SeverityWarning, Msg: "m"}, "a.yaml:3:5: warning: m"},
		{Finding{Path: "a.yaml", Severity: SeverityError, Msg: "m"}, "a.yaml: error: m"},
	} {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}
