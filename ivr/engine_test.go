package ivr

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

// demoLabels names the demo's prompts by a phrase each contains.
var demoLabels = []struct{ phrase, label string }{
	{"automated assistant", "disclosure"},
	{"at any time", "greeting"},
	{"Say billing, technical support or sales", "menu"},
	{"You chose billing", "billing"},
	{"Technical support. Is it about", "support"},
	{"Restarting your router", "internet"},
	{"If your line is silent", "phone"},
	{"You chose sales", "sales"},
	{"no operator is available", "operator"},
	{"did not get that", "sorry"},
	{"get you a person", "escalate"},
	{"Connecting you", "connecting"},
	{"nobody can take", "nobody"},
	{"Goodbye", "goodbye"},
}

func label(name string) string {
	for _, l := range demoLabels {
		if strings.Contains(name, l.phrase) {
			return l.label
		}
	}
	return name
}

func labels(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = label(n)
	}
	return out
}

func prepared(t *testing.T, f *Flow) *fakePrompts {
	t.Helper()
	p := newFakePrompts()
	if err := f.Prepare(context.Background(), p); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	return p
}

func loadDemo(t *testing.T) (*Flow, *fakePrompts) {
	t.Helper()
	f, err := Load(demoPath)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return f, prepared(t, f)
}

func parseFlow(t *testing.T, src string) (*Flow, *fakePrompts) {
	t.Helper()
	f, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f, prepared(t, f)
}

func runCall(t *testing.T, f *Flow, c *fakeCall) (Result, string) {
	t.Helper()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("call_id", "test-call")
	res := NewEngine(f, log).Run(context.Background(), c)
	t.Logf("path %v, outcome %v, err %v\n%s", res.Path, res.Outcome, res.Err, logs.String())
	return res, logs.String()
}

func check(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v\nwant %v", what, got, want)
	}
}

func checkInputs(t *testing.T, got, want []Input) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("Inputs = %+v\nwant %+v", got, want)
	}
}

func TestDemoMenuPaths(t *testing.T) {
	for _, tt := range []struct {
		keys   []string
		played []string
		path   []string
	}{
		{[]string{"1"}, []string{"disclosure", "greeting", "menu", "billing", "goodbye"}, []string{"disclosure", "greeting", "menu", "billing", "goodbye"}},
		{[]string{"2", "1"}, []string{"disclosure", "greeting", "menu", "support", "internet", "goodbye"}, []string{"disclosure", "greeting", "menu", "support", "support_internet", "goodbye"}},
		{[]string{"2", "2"}, []string{"disclosure", "greeting", "menu", "support", "phone", "goodbye"}, []string{"disclosure", "greeting", "menu", "support", "support_phone", "goodbye"}},
		{[]string{"3"}, []string{"disclosure", "greeting", "menu", "sales", "goodbye"}, []string{"disclosure", "greeting", "menu", "sales", "goodbye"}},
		{
			// 0 is the operator; the transfer fails and falls back to the menu.
			[]string{"0", "1"},
			[]string{"disclosure", "greeting", "menu", "connecting", "nobody", "menu", "billing", "goodbye"},
			[]string{"disclosure", "greeting", "menu", "operator", "menu", "billing", "goodbye"},
		},
	} {
		t.Run(strings.Join(tt.keys, ","), func(t *testing.T) {
			f, p := loadDemo(t)
			c := &fakeCall{t: t, prompts: p, transfers: map[string]TransferResult{
				"sip:operator@127.0.0.1:5090": {Outcome: TransferFailed, Status: 480},
			}}
			var want []Input
			for _, k := range tt.keys {
				c.listen = append(c.listen, keys(k))
				want = append(want, keys(k))
			}
			res, logs := runCall(t, f, c)
			if res.Outcome != OutcomeHangup || res.Err != nil {
				t.Errorf("outcome = %v, %v", res.Outcome, res.Err)
			}
			check(t, "played", labels(c.played), tt.played)
			check(t, "Path", res.Path, tt.path)
			checkInputs(t, res.Inputs, want)
			if c.hangups != 1 {
				t.Errorf("Hangup called %d times, want 1", c.hangups)
			}
			for i, o := range c.playOpts {
				if wantBarge := label(c.played[i]) != "disclosure"; o.DTMFBargeIn != wantBarge {
					t.Errorf("prompt %s: DTMFBargeIn = %v", label(c.played[i]), o.DTMFBargeIn)
				}
			}
			for _, o := range c.listens {
				if o.NoInput != 5*time.Second || o.MaxDigits != 1 || o.InterDigit != DefaultInterDigit || o.InitialKeys != "" {
					t.Errorf("ListenOptions = %+v", o)
				}
			}
			for _, s := range []string{"node=menu", "digits=" + tt.keys[0], "outcome=hangup", "call_id=test-call"} {
				if !strings.Contains(logs, s) {
					t.Errorf("logs lack %q", s)
				}
			}
		})
	}
}

func TestDemoNoInput(t *testing.T) {
	f, p := loadDemo(t)
	c := &fakeCall{t: t, prompts: p} // silent caller
	res, _ := runCall(t, f, c)
	check(t, "played", labels(c.played), []string{"disclosure", "greeting", "menu", "menu", "goodbye"})
	check(t, "Path", res.Path, []string{"disclosure", "greeting", "menu", "goodbye"})
	checkInputs(t, res.Inputs, []Input{silence, silence})
	if res.Outcome != OutcomeHangup || c.hangups != 1 {
		t.Errorf("outcome %v, %d hangups", res.Outcome, c.hangups)
	}
}

func TestDemoInvalidKey(t *testing.T) {
	t.Run("then valid", func(t *testing.T) {
		f, p := loadDemo(t)
		c := &fakeCall{t: t, prompts: p, listen: []Input{keys("9"), keys("2"), keys("1")}}
		res, logs := runCall(t, f, c)
		check(t, "played", labels(c.played), []string{"disclosure", "greeting", "menu", "sorry", "menu", "support", "internet", "goodbye"})
		checkInputs(t, res.Inputs, []Input{keys("9"), keys("2"), keys("1")})
		if !strings.Contains(logs, "result=no-match") {
			t.Error("no-match not logged")
		}
	})
	t.Run("three times", func(t *testing.T) {
		f, p := loadDemo(t)
		c := &fakeCall{t: t, prompts: p, listen: []Input{keys("9"), keys("*"), keys("8")}}
		res, _ := runCall(t, f, c)
		// The third failure in a row escalates to a person instead.
		check(t, "played", labels(c.played), []string{"disclosure", "greeting", "menu", "sorry", "menu", "sorry", "menu", "escalate", "connecting"})
		check(t, "Path", res.Path, []string{"disclosure", "greeting", "menu", "operator"})
		if res.Outcome != OutcomeTransferred || c.hangups != 0 || len(c.referred) != 1 {
			t.Errorf("outcome %v, %d hangups, referred %v", res.Outcome, c.hangups, c.referred)
		}
	})
	t.Run("no-input and no-match count apart", func(t *testing.T) {
		f, p := loadDemo(t)
		c := &fakeCall{t: t, prompts: p, listen: []Input{silence, keys("9"), keys("3")}}
		res, _ := runCall(t, f, c)
		check(t, "Path", res.Path, []string{"disclosure", "greeting", "menu", "sales", "goodbye"})
	})
}

func TestDemoKeyDuringGreeting(t *testing.T) {
	f, p := loadDemo(t)
	c := &fakeCall{t: t, prompts: p, bargeIn: map[string]string{"at any time": "2"}, listen: []Input{keys("2")}}
	res, _ := runCall(t, f, c)
	// The key stops the greeting, the menu prompt is skipped (the caller has
	// answered it), and the key is the menu's entry.
	check(t, "played", labels(c.played), []string{"disclosure", "greeting", "support", "phone", "goodbye"})
	check(t, "Path", res.Path, []string{"disclosure", "greeting", "menu", "support", "support_phone", "goodbye"})
	checkInputs(t, res.Inputs, []Input{keys("2"), keys("2")})
	// The typed key completed the menu's entry: only the sub-menu listened.
	if len(c.listens) != 1 {
		t.Errorf("Listen called with %+v; the typed key already completes the menu's entry", c.listens)
	}
}

func TestDemoDisclosurePlaysInFull(t *testing.T) {
	f, p := loadDemo(t)
	c := &fakeCall{t: t, prompts: p, bargeIn: map[string]string{"automated assistant": "2"}, listen: []Input{keys("1")}}
	res, _ := runCall(t, f, c)
	check(t, "played", labels(c.played), []string{"disclosure", "greeting", "menu", "billing", "goodbye"})
	checkInputs(t, res.Inputs, []Input{keys("1")})
}

func TestTypeAheadIntoListen(t *testing.T) {
	f, p := parseFlow(t, `flow: t
start: hello
nodes:
  hello:
    say: "Hello."
    next: code
  code:
    ask:
      prompt: "Enter your four digit code, then press pound."
      max_digits: 4
      terminator: "#"
      timeout: 7s
      inter_digit: 2s
      choices:
        - {key: "1234", say: "Thank you.", next: bye}
  bye:
    hangup: {say: "Goodbye."}
`)
	c := &fakeCall{t: t, prompts: p, bargeIn: map[string]string{"Hello.": "1"}, listen: []Input{keys("234")}}
	res, _ := runCall(t, f, c)
	check(t, "played", c.played, []string{"Hello.", "Thank you.", "Goodbye."})
	want := ListenOptions{NoInput: 7 * time.Second, InterDigit: 2 * time.Second, MaxDigits: 4, Terminator: "#", InitialKeys: "1"}
	if len(c.listens) == 1 {
		if sp := c.listens[0].Speech; sp == nil || sp.Endpoint != "menu" || sp.BargeIn != BargeInSpeech {
			t.Errorf("listen speech options = %+v", sp)
		}
		c.listens[0].Speech = nil
	}
	if len(c.listens) != 1 || c.listens[0] != want {
		t.Errorf("listens = %+v, want [%+v]", c.listens, want)
	}
	checkInputs(t, res.Inputs, []Input{keys("1234")})
	if res.Outcome != OutcomeHangup {
		t.Errorf("outcome %v", res.Outcome)
	}
}

func TestCallerHangsUp(t *testing.T) {
	t.Run("during a prompt", func(t *testing.T) {
		f, p := loadDemo(t)
		c := &fakeCall{t: t, prompts: p, hangupOn: "Say billing"}
		res, _ := runCall(t, f, c)
		if res.Outcome != OutcomeCallerHangup || res.Err != nil {
			t.Errorf("outcome %v, err %v", res.Outcome, res.Err)
		}
		if c.hangups != 0 {
			t.Errorf("Hangup called %d times after the caller hung up", c.hangups)
		}
		check(t, "Path", res.Path, []string{"disclosure", "greeting", "menu"})
	})
	t.Run("context ends while listening", func(t *testing.T) {
		f, p := loadDemo(t)
		ctx, cancel := context.WithCancel(context.Background())
		c := &fakeCall{t: t, prompts: p, listenFn: func(ListenOptions) (Input, error) {
			cancel()
			return Input{}, ErrHangup
		}}
		res := NewEngine(f, nil).Run(ctx, c)
		if res.Outcome != OutcomeCallerHangup || !errors.Is(res.Err, context.Canceled) || c.hangups != 0 {
			t.Errorf("outcome %v, err %v, %d hangups", res.Outcome, res.Err, c.hangups)
		}
	})
}

func TestLoopGuard(t *testing.T) {
	f, p := parseFlow(t, `flow: t
start: a
nodes:
  a:
    say: "Still here."
    next: b
  b:
    goto: a
`)
	c := &fakeCall{t: t, prompts: p}
	res, _ := runCall(t, f, c)
	if res.Outcome != OutcomeError || res.Err == nil || !strings.Contains(res.Err.Error(), "more than 200 node transitions") {
		t.Fatalf("outcome %v, err %v", res.Outcome, res.Err)
	}
	if len(res.Path) != MaxTransitions+1 {
		t.Errorf("path has %d nodes, want %d", len(res.Path), MaxTransitions+1)
	}
	if c.hangups != 1 {
		t.Errorf("Hangup called %d times, want 1 (the caller is still there)", c.hangups)
	}
}

func TestRetriesWithoutThenHangUp(t *testing.T) {
	f, p := parseFlow(t, `flow: t
start: q
nodes:
  q:
    ask:
      prompt: "Press 1."
      choices: [{key: "1", next: end}]
      no_input: {say: "I did not hear a key.", reprompt: 2}
  end:
    hangup: {}
`)
	c := &fakeCall{t: t, prompts: p}
	res, _ := runCall(t, f, c)
	check(t, "played", c.played, []string{"Press 1.", "I did not hear a key.", "Press 1.", "I did not hear a key.", "Press 1.", "I did not hear a key."})
	check(t, "Path", res.Path, []string{"q"})
	if res.Outcome != OutcomeHangup || c.hangups != 1 {
		t.Errorf("outcome %v, %d hangups", res.Outcome, c.hangups)
	}
}

func TestEngineErrors(t *testing.T) {
	t.Run("unprepared flow", func(t *testing.T) {
		f, err := Load(demoPath)
		if err != nil {
			t.Fatal(err)
		}
		c := &fakeCall{t: t, prompts: newFakePrompts()}
		res, _ := runCall(t, f, c)
		if res.Outcome != OutcomeError || len(c.played) != 0 {
			t.Errorf("outcome %v, played %v", res.Outcome, c.played)
		}
	})
	t.Run("media error", func(t *testing.T) {
		f, p := loadDemo(t)
		boom := errors.New("media: rtp write: broken pipe")
		c := &fakeCall{t: t, prompts: p, listenFn: func(ListenOptions) (Input, error) { return Input{}, boom }}
		res, _ := runCall(t, f, c)
		if res.Outcome != OutcomeError || !errors.Is(res.Err, boom) || c.hangups != 1 {
			t.Errorf("outcome %v, err %v, %d hangups", res.Outcome, res.Err, c.hangups)
		}
		if !strings.Contains(res.Err.Error(), `node "menu"`) {
			t.Errorf("err %q does not name the node", res.Err)
		}
	})
}

func TestPrepareRendersEachPromptOnce(t *testing.T) {
	f, p := parseFlow(t, `flow: t
start: a
nodes:
  a:
    say: "Welcome."
    next: b
  b:
    ask:
      prompt: {file: prompts/menu.wav}
      choices:
        - {key: "1", say: "Goodbye.", next: c}
        - {key: "2", say: {text: "Welcome."}, next: c}
      no_match: {say: {file: prompts/menu.wav}}
  c:
    hangup: {say: "Goodbye."}
`)
	want := map[string]int{"Welcome.": 1, "Goodbye.": 1, "file:prompts/menu.wav": 1}
	if len(p.renders) != len(want) {
		t.Errorf("renders = %v, want %v", p.renders, want)
	}
	for k, n := range want {
		if p.renders[k] != n {
			t.Errorf("%q rendered %d times, want %d", k, p.renders[k], n)
		}
	}
	if a, c := f.Nodes["a"].Say.audio, f.Nodes["b"].Ask.Choices[1].Say.audio; &a[0] != &c[0] {
		t.Error("equal prompts do not share audio")
	}

	t.Run("demo", func(t *testing.T) {
		_, p := loadDemo(t)
		if len(p.renders) != 13 {
			t.Errorf("demo rendered %d distinct prompts, want 13: %v", len(p.renders), p.renders)
		}
		for k, n := range p.renders {
			if n != 1 {
				t.Errorf("%q rendered %d times", k, n)
			}
		}
	})
}

func TestPrepareErrors(t *testing.T) {
	f, err := Parse("t.yaml", []byte(`flow: t
start: a
nodes:
  a:
    say: {file: missing.wav}
    next: b
  b:
    hangup: {say: "Bye."}
`))
	if err != nil {
		t.Fatal(err)
	}
	p := newFakePrompts()
	notFound := errors.New("tts: open missing.wav: no such file or directory")
	p.fail["file:missing.wav"] = notFound
	err = f.Prepare(context.Background(), p)
	if err == nil {
		t.Fatal("Prepare succeeded")
	}
	if want := `t.yaml:5:10: prompt file "missing.wav": tts: open missing.wav: no such file or directory`; err.Error() != want {
		t.Errorf("err = %q\nwant %q", err, want)
	}
	if !errors.Is(err, notFound) {
		t.Error("the cause is not wrapped")
	}
	if f.prepared {
		t.Error("flow marked prepared after a failure")
	}
}
