package replay

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/ivr"
)

type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

func mustPass(t *testing.T, rep Report) {
	t.Helper()
	for _, f := range rep.Failures {
		t.Error(f)
	}
}

func TestKeys(t *testing.T) {
	for _, tc := range []struct {
		name, steps string
		path        string
	}{
		{"after the menu prompt", `
  - wait: {node: menu, listening: true}
  - dtmf: "1"`, "disclosure greeting menu billing goodbye"},
		{"typed over the greeting", `
  - wait: greeting
  - silence: 1s
  - dtmf: "2"
  - wait: {node: support, listening: true}
  - dtmf: "1"`, "disclosure greeting menu support support_internet goodbye"},
		{"typed over the menu", `
  - wait: menu
  - silence: 1s
  - dtmf: "3"`, "disclosure greeting menu sales goodbye"},
		{"unknown key, then a good one", `
  - wait: {node: menu, listening: true}
  - dtmf: "9"
  - silence: 2s
  - dtmf: "1"`, "disclosure greeting menu billing goodbye"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := replay(t, `
steps:`+tc.steps+`
expect:
  outcome: hangup
  recognised: []
  barge_in: false
`)
			mustPass(t, rep)
			if got := strings.Join(rep.Result.Path, " "); got != tc.path {
				t.Errorf("path %s, want %s", got, tc.path)
			}
		})
	}
}

// A key during the disclosure (which may not be interrupted) does not stop
// it; it is kept, and as the operator key it acts as the disclosure ends.
func TestKeyDuringUninterruptiblePrompt(t *testing.T) {
	rep := replay(t, `
steps:
  - silence: 1s
  - dtmf: "0"
expect:
  nodes: [disclosure, greeting, operator]
  outcome: transferred
  transferred_to: sip:operator@127.0.0.1:5090
  intents: [operator]
`)
	mustPass(t, rep)
	if p := rep.Played[0]; p.Node != "disclosure" || p.Heard < p.Length {
		t.Errorf("disclosure: played %v of %v, want all of it", p.Heard, p.Length)
	}
	if p := rep.Played[1]; p.Node != "greeting" || p.Heard != 0 || !p.StoppedByKey {
		t.Errorf("greeting played %v; the typed 0 should have stopped it at once", p.Heard)
	}
}

func TestSpeech(t *testing.T) {
	rep := replay(t, `
steps:
  - wait: {node: menu, listening: true}
  - silence: 500ms
  - say: technical support
  - wait: {node: support, listening: true}
  - dtmf: "2"
expect:
  nodes: [disclosure, greeting, menu, support, support_phone, goodbye]
  recognised: [support]
  barge_in: false
  outcome: hangup
`)
	mustPass(t, rep)
}

func TestBargeInOverGreeting(t *testing.T) {
	rep := replay(t, `
steps:
  - wait: greeting
  - silence: 1s
  - say: billing
expect:
  nodes: [disclosure, greeting, menu, billing, goodbye]
  recognised: [billing]
  barge_in: true
  outcome: hangup
`)
	mustPass(t, rep)
	g := rep.Played[1]
	if g.Node != "greeting" || !g.StoppedBySpeech {
		t.Fatalf("greeting %+v, want stopped by speech", g)
	}
	// The caller starts 1 s in; the VAD and MinSpeech (200 ms) take a
	// few hundred ms more.
	if g.Heard < time.Second || g.Heard > 1600*time.Millisecond {
		t.Errorf("greeting stopped after %v, want 1-1.6 s", g.Heard)
	}
	// The answer given over the greeting answers the menu: its prompt is
	// skipped.
	for _, p := range rep.Played {
		if p.Node == "menu" {
			t.Errorf("menu prompt played (%v) although the caller had answered", p.Heard)
		}
	}
}

// Speech over the disclosure (barge_in: off) does not stop it, unless it
// is a global intent.
func TestDisclosure(t *testing.T) {
	t.Run("answer is held", func(t *testing.T) {
		rep := replay(t, `
steps:
  - silence: 1s
  - say: billing
  - wait: {node: menu, listening: true}
  - dtmf: "3"
expect:
  nodes: [disclosure, greeting, menu, sales, goodbye]
  recognised: []
  barge_in: false
`)
		mustPass(t, rep)
		if p := rep.Played[0]; p.StoppedBySpeech || p.Heard < p.Length {
			t.Errorf("disclosure %+v, want played in full", p)
		}
	})
	t.Run("operator interrupts", func(t *testing.T) {
		rep := replay(t, `
steps:
  - silence: 1s
  - say: operator
expect:
  nodes: [disclosure, operator]
  recognised: [operator]
  intents: [operator]
  barge_in: true
  outcome: transferred
`)
		mustPass(t, rep)
		if p := rep.Played[0]; !p.StoppedBySpeech || p.Heard >= p.Length {
			t.Errorf("disclosure %+v, want stopped by the intent", p)
		}
	})
}

// No input: the menu waits NoInput (5 s) after its prompt, reprompts once,
// waits again, and goes to goodbye.
func TestNoInputTiming(t *testing.T) {
	rep := replay(t, `
steps: []
expect:
  nodes: [disclosure, greeting, menu, goodbye]
  outcome: hangup
  recognised: []
`)
	mustPass(t, rep)
	var menus []Played
	for _, p := range rep.Played {
		if p.Node == "menu" {
			menus = append(menus, p)
		}
	}
	if len(menus) != 2 {
		t.Fatalf("menu played %d times, want 2", len(menus))
	}
	end := menus[0].At + menus[0].Heard.Round(frameLength)
	if gap := menus[1].At - end; gap < 5*time.Second || gap > 5*time.Second+frameLength {
		t.Errorf("reprompt %v after the menu prompt ended, want 5 s", gap)
	}
	if got := len(rep.Result.Inputs); got != 2 || rep.Result.Inputs[0].Kind != ivr.InputNoInput {
		t.Errorf("inputs %+v, want two no-inputs", rep.Result.Inputs)
	}
}

// Three failed turns in a row go to a person.
func TestNoMatchEscalation(t *testing.T) {
	rep := replay(t, `
steps:
  - wait: {node: menu, listening: true}
  - say: mumble
  - wait: {listening: true}
  - say: the weather is nice
  - wait: {listening: true}
  - dtmf: "9"
expect:
  nodes: [disclosure, greeting, menu, operator]
  recognised: []
  outcome: transferred
`)
	mustPass(t, rep)
	if n := len(rep.Heard); n != 2 || !rep.Heard[0].NoMatch || !rep.Heard[1].NoMatch {
		t.Errorf("heard %s, want two no-matches", heardList(rep.Heard))
	}
}

func TestCallerHangsUp(t *testing.T) {
	rep := replay(t, `
steps:
  - wait: menu
  - silence: 2s
  - hangup: {}
expect:
  nodes: [disclosure, greeting, menu]
  outcome: caller-hangup
`)
	mustPass(t, rep)
	if p := rep.Played[len(rep.Played)-1]; p.Node != "menu" || p.Heard != 2*time.Second {
		t.Errorf("last prompt %+v, want the menu cut at 2 s", p)
	}
}

func TestTransferResults(t *testing.T) {
	for _, tc := range []struct {
		result  string
		outcome ivr.TransferOutcome
		status  int
	}{
		{"busy", ivr.TransferFailed, 486},
		{"declined", ivr.TransferFailed, 603},
		{"rejected", ivr.TransferRejected, 405},
		{"timeout", ivr.TransferTimeout, 0},
	} {
		t.Run(tc.result, func(t *testing.T) {
			rep := replay(t, `
steps:
  - wait: {node: menu, listening: true}
  - dtmf: "0"
  - wait: {node: menu, listening: true}
  - dtmf: "3"
transfer:
  - target: sip:operator@127.0.0.1:5090
    result: `+tc.result+`
expect:
  nodes: [disclosure, greeting, menu, operator, menu, sales, goodbye]
  intents: [operator]
  outcome: hangup
`)
			mustPass(t, rep)
			tr := rep.Result.Transfers
			if len(tr) != 1 || tr[0].Outcome != tc.outcome || tr[0].Status != tc.status {
				t.Fatalf("transfers %+v", tr)
			}
			if tc.result == "timeout" && rep.Audio < 30*time.Second {
				t.Errorf("a transfer timeout should take the node's 30 s; the call took %v", rep.Audio)
			}
		})
	}
	t.Run("default accepts", func(t *testing.T) {
		rep := replay(t, `
steps:
  - wait: menu
  - dtmf: "0"
expect:
  nodes: [disclosure, greeting, menu, operator]
  outcome: transferred
  transferred_to: sip:operator@127.0.0.1:5090
`)
		mustPass(t, rep)
	})
	t.Run("caller hangs up while it rings", func(t *testing.T) {
		rep := replay(t, `
steps:
  - wait: menu
  - dtmf: "0"
  - wait: operator
  - silence: 3s
  - hangup: {}
transfer:
  - {result: ok, after: 10s}
expect:
  nodes: [disclosure, greeting, menu, operator]
  outcome: caller-hangup
`)
		mustPass(t, rep)
	})
}

func TestRepeatAndGoodbye(t *testing.T) {
	rep := replay(t, `
steps:
  - wait: {node: menu, listening: true}
  - say: repeat
  - wait: {listening: true}
  - say: goodbye
expect:
  nodes: [disclosure, greeting, menu, goodbye]
  recognised: [repeat, goodbye]
  intents: [repeat, goodbye]
  outcome: hangup
`)
	mustPass(t, rep)
}

func TestKeysOnlyWithoutRecogniser(t *testing.T) {
	v := newFakeVoice(callerPhrases...)
	f := demoFlow(t, v)
	sc := scenario(t, `
steps:
  - wait: menu
  - say: billing
  - wait: {node: menu, visit: 2, listening: true}
  - dtmf: "2"
expect:
  nodes: [disclosure, greeting, menu, support, goodbye]
`)
	rep := Run(context.Background(), f, sc, nil, v, testLog(t))
	// Without a recogniser the speech is not heard: the first no-input
	// reprompts; then 2 is pressed... but the menu is not re-entered (a
	// reprompt is no new visit), so the wait never ends.
	if rep.Passed() || !strings.Contains(strings.Join(rep.Failures, "\n"), "before the caller got to wait for node menu (visit 2)") {
		t.Errorf("failures %q", rep.Failures)
	}
}

func TestDeterministic(t *testing.T) {
	const text = `
steps:
  - wait: greeting
  - silence: 700ms
  - say: sales
expect:
  nodes: [disclosure, greeting, menu, sales, goodbye]
`
	a, b := replay(t, text), replay(t, text)
	a.Elapsed, b.Elapsed = 0, 0
	a.Scenario, b.Scenario = nil, nil
	if !reflect.DeepEqual(a, b) {
		t.Errorf("two runs differ:\n%+v\n%+v", a, b)
	}
	mustPass(t, a)
}

func TestFailures(t *testing.T) {
	rep := replay(t, `
steps:
  - wait: {node: menu, listening: true}
  - dtmf: "3"
  - say: billing
expect:
  nodes: [disclosure, greeting, menu, billing, goodbye]
  nodes_include: [menu, operator]
  recognised: [billing]
  barge_in: false
  outcome: transferred
  transferred_to: sip:operator@127.0.0.1:5090
  intents: [operator]
`)
	want := []string{
		"nodes: want disclosure > greeting > menu > billing > goodbye\n" +
			"        got disclosure > greeting > menu > sales > goodbye\n" +
			"                                           ^ node 4: want billing, got sales",
		"nodes_include: want menu > operator in this order, got disclosure > greeting > menu > sales > goodbye: operator is missing after menu",
		`recognised: want "billing", got (no match "billing" at sales)`,
		`barge_in: want no barge-in by speech, got "billing" at sales (16.98s)`,
		"outcome: want transferred, got hangup",
		"transferred_to: want sip:operator@127.0.0.1:5090, got no transfer",
		"intents: want operator, got none",
	}
	if len(rep.Failures) < len(want) {
		t.Fatalf("failures:\n%s", strings.Join(rep.Failures, "\n"))
	}
	for i, w := range want {
		if rep.Failures[i] != w {
			t.Errorf("failure %d:\n%s\nwant:\n%s", i, rep.Failures[i], w)
		}
	}
	// The say step, begun during the sales message, was reached.
	if len(rep.Failures) != len(want) {
		t.Errorf("extra failures: %q", rep.Failures[len(want):])
	}
}

func TestPathDiff(t *testing.T) {
	for _, tc := range []struct {
		want, got []string
		out       string
	}{
		{[]string{"a", "b"}, []string{"a", "b", "c"}, "nodes: want a > b\n        got a > b > c\n" + strings.Repeat(" ", 20) + "^ then 1 more node(s)"},
		{[]string{"a", "b"}, []string{"a"}, "nodes: want a > b\n        got a\n" + strings.Repeat(" ", 16) + "^ call ended; b expected"},
		{[]string{"a"}, []string{"x"}, "nodes: want a\n        got x\n" + strings.Repeat(" ", 12) + "^ node 1: want a, got x"},
	} {
		if got := pathDiff("nodes", tc.want, tc.got); got != tc.out {
			t.Errorf("pathDiff(%v, %v):\n%s\nwant:\n%s", tc.want, tc.got, got, tc.out)
		}
	}
}

func TestMaxDuration(t *testing.T) {
	rep := replay(t, `
max_duration: 20s
steps:
  - wait: sales
expect:
  outcome: hangup
`)
	got := strings.Join(rep.Failures, "\n")
	if !strings.Contains(got, "ran past max_duration (20s of virtual time)") || rep.Audio != 20*time.Second {
		t.Errorf("failures %q after %v", rep.Failures, rep.Audio)
	}
	if rep.Result.Outcome != ivr.OutcomeError {
		t.Errorf("outcome %v, want error", rep.Result.Outcome)
	}
}

func TestUnreachedSteps(t *testing.T) {
	rep := replay(t, `
steps:
  - wait: {node: menu, listening: true}
  - dtmf: "1"
  - wait: billing
  - wait: sales
  - say: operator
expect:
  outcome: hangup
`)
	want := `steps: the call ended at `
	if len(rep.Failures) != 1 || !strings.HasPrefix(rep.Failures[0], want) ||
		!strings.HasSuffix(rep.Failures[0], `at node goodbye, before the caller got to wait for node sales (line 6), say "operator" (line 7)`) {
		t.Errorf("failures %q", rep.Failures)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"steps: []\nexpect: {}\nbogus: 1\n", ":3: unknown key \"bogus\" in scenario"},
		{"steps:\n  - silence: 1x\nexpect: {}\n", ":2: silence: \"1x\" is not a positive duration"},
		{"steps:\n  - shout: hi\nexpect: {}\n", ":2: unknown step \"shout\""},
		{"steps:\n  - say: hi\n    dtmf: \"1\"\nexpect: {}\n", ":2: a step is a mapping with one key"},
		{"steps:\n  - dtmf: \"1x\"\nexpect: {}\n", ":2: dtmf: 'x' is not a key"},
		{"steps:\n  - audio: nope.wav\nexpect: {}\n", ":2: audio nope.wav:"},
		{"steps:\n  - say: {text: hi, speed: 3}\nexpect: {}\n", ":2: unknown key \"speed\" in say"},
		{"steps: []\ntransfer:\n  - result: maybe\nexpect: {}\n", ":3: transfer result \"maybe\" is not ok"},
		{"steps: []\nexpect:\n  outcome: done\n", ":3: outcome \"done\" is not one of"},
		{"steps: []\nexpect:\n  nodes: menu\n", ":3: nodes must be a list"},
		{"steps: []\nexpect:\n  barge_in: yes please\n", ":3: barge_in must be true or false"},
		{"steps: []\n", "no expect"},
		{"steps: [\n", ":1: did not find expected node content"},
		{"steps:\n  - wait: {visit: 2}\nexpect: {}\n", ":2: wait visit needs a node"},
	} {
		_, err := Parse("x.yaml", []byte(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.text, err, tc.want)
		}
	}
}

func TestLoad(t *testing.T) {
	sc, err := Load("../../testdata/calls/billing-by-voice-over-greeting.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name == "" || len(sc.Steps) == 0 || sc.Expect.Nodes == nil {
		t.Errorf("scenario %+v", sc)
	}
	for _, st := range sc.Steps {
		if st.Line == 0 {
			t.Errorf("step %s has no line", st)
		}
	}
	f, err := ivr.Load("../../configs/flows/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.CheckFlow(f); err != nil {
		t.Error(err)
	}
	bad := scenario(t, "steps:\n  - wait: greting\nexpect:\n  nodes: [menu, bill]\n  intents: [operater]\n")
	err = bad.CheckFlow(f)
	for _, w := range []string{`:2: wait: flow demo has no node "greting"`, `no node "bill"`, `no global intent "operater"`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("CheckFlow: %v, want %q", err, w)
		}
	}
}

func ExampleRun() {
	fmt.Println(pathDiff("nodes", []string{"disclosure", "greeting", "menu", "billing"}, []string{"disclosure", "greeting", "menu", "goodbye"}))
	// Output:
	// nodes: want disclosure > greeting > menu > billing
	//         got disclosure > greeting > menu > goodbye
	//                                            ^ node 4: want billing, got goodbye
}
