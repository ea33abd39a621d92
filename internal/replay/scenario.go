package replay

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/switchboard-voice/switchboard/ivr"
	"github.com/switchboard-voice/switchboard/tts"
)

// DefaultMaxDuration is the virtual time after which a call that has not
// ended fails: a flow that loops, or a caller waiting for a node the flow
// never enters.
const DefaultMaxDuration = 5 * time.Minute

// DefaultKeyEvery is the time between the key presses of a dtmf step.
const DefaultKeyEvery = 100 * time.Millisecond

// Scenario is one scripted call, as Load reads it from a file.
type Scenario struct {
	Path        string // the file
	Name        string // name:, default the file name without .yaml
	Caller      string // Info().Caller
	Called      string // Info().Called
	MaxDuration time.Duration
	Steps       []Step
	Transfers   []TransferRule
	Expect      Expect
}

// StepKind says what a step does.
type StepKind int

// The steps of a caller.
const (
	StepSilence StepKind = iota + 1 // line silence for Duration
	StepWait                        // silence until the flow reaches Node (and/or is Listening)
	StepSay                         // Text synthesised
	StepAudio                       // the audio file File
	StepDTMF                        // Keys, Every apart
	StepHangup                      // the caller hangs up
)

var stepNames = []string{"silence", "wait", "say", "audio", "dtmf", "hangup"}

func (k StepKind) String() string {
	if k >= StepSilence && int(k) <= len(stepNames) {
		return stepNames[k-1]
	}
	return "step(?)"
}

// Step is one thing the caller does.
type Step struct {
	Kind StepKind
	Line int // in the scenario file

	Duration time.Duration // silence

	Node      string // wait: the node to wait for ("" for none)
	Visit     int    // wait: the visit of Node (1 the first in the call); 0 the next
	Listening bool   // wait: then until the flow listens after its prompt

	Text  string  // say
	Voice string  // say: espeak-ng voice, "" for the prompts' own
	WPM   int     // say: words per minute, 0 for the prompts' own
	Level float64 // say: dBFS RMS of the speech, 0 for -16

	File  string  // audio: the path, resolved against the scenario file
	audio []int16 // audio: decoded by Load

	Keys  string        // dtmf
	Every time.Duration // dtmf: time between presses
}

// String describes the step for messages: `say "billing please"`.
func (s Step) String() string {
	switch s.Kind {
	case StepSilence:
		return "silence " + s.Duration.String()
	case StepWait:
		var parts []string
		if s.Node != "" {
			p := "node " + s.Node
			if s.Visit > 0 {
				p += " (visit " + strconv.Itoa(s.Visit) + ")"
			}
			parts = append(parts, p)
		}
		if s.Listening {
			parts = append(parts, "listening")
		}
		return "wait for " + strings.Join(parts, ", then ")
	case StepSay:
		return "say " + strconv.Quote(s.Text)
	case StepAudio:
		return "audio " + filepath.Base(s.File)
	case StepDTMF:
		return "dtmf " + strconv.Quote(s.Keys)
	case StepHangup:
		return "hangup"
	}
	return s.Kind.String()
}

// TransferRule is what a transfer target does with the call.
type TransferRule struct {
	Target string // "" for any target
	Result string // ok, busy, declined, rejected, timeout
	After  time.Duration
	Line   int
}

// transferResults maps a rule's result onto what the flow sees.
var transferResults = map[string]ivr.TransferResult{
	"ok":       {Outcome: ivr.TransferOK, Status: 200, Reason: "OK"},
	"busy":     {Outcome: ivr.TransferFailed, Status: 486, Reason: "Busy Here"},
	"declined": {Outcome: ivr.TransferFailed, Status: 603, Reason: "Decline"},
	"rejected": {Outcome: ivr.TransferRejected, Status: 405, Reason: "Method Not Allowed"},
	"timeout":  {Outcome: ivr.TransferTimeout, Reason: "no final NOTIFY in time"},
}

// Expect is what the call must have done. Nil slices, a nil BargeIn and
// empty strings are not checked.
type Expect struct {
	Nodes         []string // the whole node path
	NodesInclude  []string // a subsequence of the path
	Recognised    []string // the recognised answers, in order, each as whole words
	BargeIn       *bool
	Outcome       string // hangup, transferred, caller-hangup, error
	TransferredTo string
	Intents       []string // the global intents used, in order
}

var outcomes = []string{"hangup", "transferred", "caller-hangup", "error"}

// Load reads a scenario file. Errors name the file and line
// (path:line: message), all of them joined; unknown keys are errors.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	return Parse(path, data)
}

// Parse reads a scenario from data; path names it in errors and is what
// audio steps are resolved against.
func Parse(path string, data []byte) (*Scenario, error) {
	p := &parser{path: path, dir: filepath.Dir(path)}
	sc := p.scenario(data)
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return sc, nil
}

type parser struct {
	path, dir string
	errs      []error
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		p.errs = append(p.errs, fmt.Errorf("%s:%d: %s", p.path, line, msg))
	} else {
		p.errs = append(p.errs, fmt.Errorf("%s: %s", p.path, msg))
	}
}

func (p *parser) scenario(data []byte) *Scenario {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if rest, ok := strings.CutPrefix(msg, "line "); ok {
			// "line 3: mapping values are not allowed in this context"
			if i := strings.Index(rest, ": "); i > 0 {
				p.errs = append(p.errs, fmt.Errorf("%s:%s: %s", p.path, rest[:i], rest[i+2:]))
				return nil
			}
		}
		p.errs = append(p.errs, fmt.Errorf("%s: %s", p.path, msg))
		return nil
	}
	sc := &Scenario{Path: p.path, MaxDuration: DefaultMaxDuration}
	sc.Name = strings.TrimSuffix(strings.TrimSuffix(filepath.Base(p.path), ".yaml"), ".yml")
	if len(doc.Content) == 0 {
		p.errorf(nil, "empty scenario: give steps and expect")
		return sc
	}
	root := doc.Content[0]
	fields := p.fields(root, "scenario", "name", "caller", "called", "max_duration", "steps", "transfer", "expect")
	if f := fields["name"]; f != nil {
		sc.Name = p.str(f, "name")
	}
	if f := fields["caller"]; f != nil {
		sc.Caller = p.str(f, "caller")
	}
	if f := fields["called"]; f != nil {
		sc.Called = p.str(f, "called")
	}
	if f := fields["max_duration"]; f != nil {
		sc.MaxDuration = p.duration(f, "max_duration")
	}
	if f := fields["steps"]; f != nil {
		sc.Steps = p.steps(f)
	}
	if f := fields["transfer"]; f != nil {
		sc.Transfers = p.transfers(f)
	}
	if f := fields["expect"]; f != nil {
		sc.Expect = p.expect(f)
	} else if root.Kind == yaml.MappingNode {
		p.errorf(root, "no expect: a scenario checks something")
	}
	return sc
}

// fields returns a mapping's values by key, reporting keys not in known
// (with a suggestion) and duplicates.
func (p *parser) fields(n *yaml.Node, what string, known ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping, not %s", what, describe(n))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(known, k.Value) {
			p.errorf(k, "unknown key %q in %s (known: %s)", k.Value, what, strings.Join(known, ", "))
			continue
		}
		if _, dup := out[k.Value]; dup {
			p.errorf(k, "%s given twice in %s", k.Value, what)
			continue
		}
		out[k.Value] = v
	}
	return out
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return strconv.Quote(n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

func (p *parser) str(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, "%s must be a string, not %s", what, describe(n))
		return ""
	}
	return n.Value
}

func (p *parser) duration(n *yaml.Node, what string) time.Duration {
	s := p.str(n, what)
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		p.errorf(n, "%s: %q is not a positive duration such as 500ms or 2s", what, s)
		return 0
	}
	return d
}

func (p *parser) boolean(n *yaml.Node, what string) bool {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		b, err := strconv.ParseBool(n.Value)
		if err == nil {
			return b
		}
	}
	p.errorf(n, "%s must be true or false, not %s", what, describe(n))
	return false
}

func (p *parser) list(n *yaml.Node, what string) []string {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s must be a list, such as [a, b], not %s", what, describe(n))
		return nil
	}
	out := []string{}
	for _, v := range n.Content {
		if s := p.str(v, what+" entry"); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) steps(n *yaml.Node) []Step {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "steps must be a list, not %s", describe(n))
		return nil
	}
	var out []Step
	for _, sn := range n.Content {
		if sn.Kind != yaml.MappingNode || len(sn.Content) != 2 {
			p.errorf(sn, "a step is a mapping with one key (%s), not %s", strings.Join(stepNames, ", "), describe(sn))
			continue
		}
		k, v := sn.Content[0], sn.Content[1]
		st := Step{Line: k.Line}
		switch k.Value {
		case "silence":
			st.Kind = StepSilence
			st.Duration = p.duration(v, "silence")
		case "wait":
			st.Kind = StepWait
			p.wait(&st, v)
		case "say":
			st.Kind = StepSay
			p.say(&st, v)
		case "audio":
			st.Kind = StepAudio
			p.audio(&st, v)
		case "dtmf":
			st.Kind = StepDTMF
			p.dtmf(&st, v)
		case "hangup":
			st.Kind = StepHangup
			if !(v.Kind == yaml.ScalarNode && v.Tag == "!!null") && !(v.Kind == yaml.MappingNode && len(v.Content) == 0) {
				p.errorf(v, "hangup takes nothing: write hangup: {}")
			}
		default:
			p.errorf(k, "unknown step %q (known: %s)", k.Value, strings.Join(stepNames, ", "))
			continue
		}
		out = append(out, st)
	}
	return out
}

func (p *parser) wait(st *Step, v *yaml.Node) {
	if v.Kind == yaml.ScalarNode {
		st.Node = p.str(v, "wait")
		return
	}
	f := p.fields(v, "wait", "node", "visit", "listening")
	if n := f["node"]; n != nil {
		st.Node = p.str(n, "wait node")
	}
	if n := f["visit"]; n != nil {
		i, err := strconv.Atoi(n.Value)
		if err != nil || i < 1 || n.Kind != yaml.ScalarNode {
			p.errorf(n, "wait visit must be a whole number from 1, not %s", describe(n))
		}
		st.Visit = i
		if st.Node == "" {
			p.errorf(n, "wait visit needs a node")
		}
	}
	if n := f["listening"]; n != nil {
		st.Listening = p.boolean(n, "wait listening")
	}
	if st.Node == "" && !st.Listening && v.Kind == yaml.MappingNode {
		p.errorf(v, "wait needs a node or listening: true")
	}
}

func (p *parser) say(st *Step, v *yaml.Node) {
	if v.Kind == yaml.ScalarNode {
		st.Text = p.str(v, "say")
	} else {
		f := p.fields(v, "say", "text", "voice", "wpm", "level")
		if n := f["text"]; n != nil {
			st.Text = p.str(n, "say text")
		}
		if n := f["voice"]; n != nil {
			st.Voice = p.str(n, "say voice")
		}
		if n := f["wpm"]; n != nil {
			i, err := strconv.Atoi(n.Value)
			if err != nil || i < 80 || i > 450 || n.Kind != yaml.ScalarNode {
				p.errorf(n, "say wpm must be words per minute from 80 to 450, not %s", describe(n))
			}
			st.WPM = i
		}
		if n := f["level"]; n != nil {
			l, err := strconv.ParseFloat(n.Value, 64)
			if err != nil || l >= 0 || l < -60 || n.Kind != yaml.ScalarNode {
				p.errorf(n, "say level must be dBFS from -60 to below 0, such as -16, not %s", describe(n))
			}
			st.Level = l
		}
	}
	if strings.TrimSpace(st.Text) == "" && v.Kind != yaml.SequenceNode {
		p.errorf(v, "say needs text")
	}
}

func (p *parser) audio(st *Step, v *yaml.Node) {
	s := p.str(v, "audio")
	if s == "" {
		return
	}
	if filepath.IsAbs(s) {
		st.File = s
	} else {
		st.File = filepath.Join(p.dir, s)
	}
	pcm, err := tts.LoadFile(st.File)
	if err != nil {
		p.errorf(v, "audio %s: %v", s, err)
		return
	}
	if len(pcm) == 0 {
		p.errorf(v, "audio %s holds no audio", s)
	}
	st.audio = pcm
}

func (p *parser) dtmf(st *Step, v *yaml.Node) {
	st.Every = DefaultKeyEvery
	keysNode := v
	if v.Kind == yaml.MappingNode {
		f := p.fields(v, "dtmf", "keys", "every")
		keysNode = f["keys"]
		if n := f["every"]; n != nil {
			if d := p.duration(n, "dtmf every"); d > 0 {
				st.Every = d
			}
		}
		if keysNode == nil {
			p.errorf(v, "dtmf needs keys")
			return
		}
	}
	st.Keys = p.str(keysNode, "dtmf")
	if st.Keys == "" && keysNode.Kind == yaml.ScalarNode && keysNode.Tag != "!!null" {
		p.errorf(keysNode, "dtmf needs keys")
	}
	for _, k := range st.Keys {
		if !strings.ContainsRune("0123456789*#ABCD", k) {
			p.errorf(keysNode, "dtmf: %q is not a key (0-9, *, #, A-D)", k)
			break
		}
	}
	if keysNode.Kind == yaml.ScalarNode && keysNode.Tag == "!!int" && strings.HasPrefix(st.Keys, "0") && len(st.Keys) > 1 {
		p.errorf(keysNode, "dtmf: quote the keys (\"%s\")", st.Keys)
	}
}

func (p *parser) transfers(n *yaml.Node) []TransferRule {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "transfer must be a list of {target, result}, not %s", describe(n))
		return nil
	}
	var out []TransferRule
	for _, tn := range n.Content {
		f := p.fields(tn, "transfer entry", "target", "result", "after")
		r := TransferRule{Result: "ok", Line: tn.Line}
		if v := f["target"]; v != nil {
			r.Target = p.str(v, "transfer target")
		}
		if v := f["result"]; v != nil {
			r.Result = p.str(v, "transfer result")
			if _, ok := transferResults[r.Result]; !ok && r.Result != "" {
				p.errorf(v, "transfer result %q is not ok, busy, declined, rejected or timeout", r.Result)
			}
		}
		if v := f["after"]; v != nil {
			r.After = p.duration(v, "transfer after")
		}
		out = append(out, r)
	}
	return out
}

func (p *parser) expect(n *yaml.Node) Expect {
	var e Expect
	f := p.fields(n, "expect", "nodes", "nodes_include", "recognised", "barge_in", "outcome", "transferred_to", "intents")
	if v := f["nodes"]; v != nil {
		e.Nodes = p.list(v, "nodes")
	}
	if v := f["nodes_include"]; v != nil {
		e.NodesInclude = p.list(v, "nodes_include")
	}
	if v := f["recognised"]; v != nil {
		e.Recognised = p.list(v, "recognised")
	}
	if v := f["barge_in"]; v != nil {
		b := p.boolean(v, "barge_in")
		e.BargeIn = &b
	}
	if v := f["outcome"]; v != nil {
		e.Outcome = p.str(v, "outcome")
		if e.Outcome != "" && !slices.Contains(outcomes, e.Outcome) {
			p.errorf(v, "outcome %q is not one of %s", e.Outcome, strings.Join(outcomes, ", "))
		}
	}
	if v := f["transferred_to"]; v != nil {
		e.TransferredTo = p.str(v, "transferred_to")
	}
	if v := f["intents"]; v != nil {
		e.Intents = p.list(v, "intents")
	}
	return e
}

// CheckFlow reports names in the scenario that the flow does not have:
// nodes in wait steps and expectations, and global intents. A typo there
// would otherwise only show as a failed or never-ending call.
func (sc *Scenario) CheckFlow(f *ivr.Flow) error {
	var errs []error
	bad := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s", sc.Path, line, fmt.Sprintf(format, args...)))
	}
	for _, st := range sc.Steps {
		if st.Kind == StepWait && st.Node != "" && f.Nodes[st.Node] == nil {
			bad(st.Line, "wait: flow %s has no node %q", f.Name, st.Node)
		}
	}
	for _, list := range [][]string{sc.Expect.Nodes, sc.Expect.NodesInclude} {
		for _, id := range list {
			if f.Nodes[id] == nil {
				errs = append(errs, fmt.Errorf("%s: expect: flow %s has no node %q", sc.Path, f.Name, id))
			}
		}
	}
	for _, name := range sc.Expect.Intents {
		if f.Global(name) == nil {
			errs = append(errs, fmt.Errorf("%s: expect intents: flow %s has no global intent %q", sc.Path, f.Name, name))
		}
	}
	return errors.Join(errs...)
}
