package ivr

import (
	"fmt"
	"time"
)

// Pos is a 1-based line and column in a flow file. The zero Pos means "no
// position" (a problem with the file as a whole).
type Pos struct {
	Line, Col int
}

// String returns "line:col".
func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Flow is a validated flow file. It is read-only once Prepare has returned,
// so one Flow serves any number of concurrent calls; a reload loads a new Flow.
type Flow struct {
	Name string // the flow: key; what routes and logs call it
	// Language is the callers' language for speech recognition ("en",
	// "ru"; language: key); "" leaves it to the recogniser's configuration.
	Language string
	Path     string           // the file it was loaded from, as given to Load/Parse
	Start    Ref              // the first node
	Nodes    map[string]*Node // by id
	Order    []string         // node ids in file order
	Pos      Pos              // the top-level mapping
	// Fields holds the position of each top-level key's value, by key.
	Fields map[string]Pos

	// Globals are the intents active at every node (globals:), in file
	// order. Without a globals: key the flow gets DefaultGlobals.
	Globals []*Global
	// Escalation sends a caller who is struggling to a person.
	Escalation Escalation

	prompts  []*Prompt // every prompt of the flow, in file order
	prepared bool      // Prepare has rendered every prompt
	renderer Prompts   // renders templated prompts at call time
}

// Ref names a node from another place in the flow (start, next, goto, a
// choice's next, a retry's then). Pos is where the name is written.
type Ref struct {
	Node string // node id; "" when absent (where allowed, the default applies)
	Pos  Pos
}

// NodeKind is what a node does. Exactly one kind key appears in each node.
type NodeKind int

// The node kinds. A later kind (transfer, set, webhook) is added here, to
// nodeKinds in parse.go, and to the switch in run.node.
const (
	KindSay      NodeKind = iota + 1 // play a prompt, go to next
	KindAsk                          // play a prompt, collect keys, route by choice
	KindGoto                         // go to another node
	KindHangup                       // optional goodbye, then end the call
	KindTransfer                     // hand the call to a person (SIP REFER), fall back on failure
	KindSet                          // set variables
	KindWebhook                      // HTTP request, JSON result into variables
)

func (k NodeKind) String() string {
	switch k {
	case KindSay:
		return "say"
	case KindAsk:
		return "ask"
	case KindGoto:
		return "goto"
	case KindHangup:
		return "hangup"
	case KindTransfer:
		return "transfer"
	case KindSet:
		return "set"
	case KindWebhook:
		return "webhook"
	}
	return "unknown"
}

// BargeIn says what may interrupt a node's prompts. Keys always may,
// except with BargeInOff.
type BargeIn int

const (
	// BargeInSpeech (the default; barge_in: speech or true): the caller's
	// voice stops a prompt once they have spoken for a moment, and so does a
	// key.
	BargeInSpeech BargeIn = iota
	// BargeInHotword (barge_in: hotword): only words that match one of the
	// node's choices or a global intent stop a prompt; coughs, "uh-huh" and
	// line echo never do. Keys still stop it.
	BargeInHotword
	// BargeInOff (barge_in: off or false): prompts play in full, for a
	// disclosure that must be heard. A global intent still interrupts.
	BargeInOff
)

func (b BargeIn) String() string {
	switch b {
	case BargeInHotword:
		return "hotword"
	case BargeInOff:
		return "off"
	}
	return "speech"
}

// Node is one step of a flow. Which of Say/Next, Ask, Goto and Hangup is set
// follows from Kind.
type Node struct {
	ID   string
	Kind NodeKind
	Pos  Pos // the node's id in the nodes mapping
	// Fields holds the position of each key's value in the node, by key.
	Fields map[string]Pos

	BargeIn BargeIn // barge_in; applies to every prompt the node plays

	Say  *Prompt // KindSay: what to play
	Next Ref     // KindSay: where to go after it

	Ask      *Ask      // KindAsk
	Goto     Ref       // KindGoto
	Hangup   *Hangup   // KindHangup
	Transfer *Transfer // KindTransfer
	Set      []Assign  // KindSet, with Next
	Webhook  *Webhook  // KindWebhook, with Next
}

// Prompt is something to play: synthesised text or an audio file. Exactly
// one of Text and File is set.
type Prompt struct {
	Text string
	File string // as written in the flow
	Path string // File resolved against the flow file's directory
	Pos  Pos    // the prompt's value in the flow file

	audio []int16 // 8 kHz PCM16, set by Flow.Prepare
	// templated: the text has {{variables}}, so it is rendered per call.
	templated bool
}

// String describes the prompt for logs and errors.
func (p *Prompt) String() string {
	if p.File != "" {
		return fmt.Sprintf("file %q", p.File)
	}
	t := p.Text
	if r := []rune(t); len(r) > 40 {
		t = string(r[:37]) + "..."
	}
	return fmt.Sprintf("%q", t)
}

// Ask plays a prompt and collects DTMF keys, then routes by the matching
// choice; no-input and no-match turns are retried and then routed.
type Ask struct {
	Prompt     *Prompt
	Timeout    time.Duration // timeout: no-input timer from the prompt's end; default 5s
	InterDigit time.Duration // inter_digit: wait between keys; default 3s
	MaxDigits  int           // max_digits: keys per entry; default the longest choice key
	Terminator string        // terminator: keys that end an entry early, e.g. "#"; default none
	// Endpoint names the endpointing preset for speech (endpoint: menu,
	// yes_no, digits or free_text; default menu); EndSilence and MaxSpeech
	// (end_silence, max_speech) override its pause that ends an answer and
	// its cap on an answer's length.
	Endpoint              string
	EndSilence, MaxSpeech time.Duration
	Choices               []*Choice
	NoInput               Retry // no_input; default {reprompt: 1} then hang up
	NoMatch               Retry // no_match; default {reprompt: 1} then hang up
	Pos                   Pos   // the ask mapping
	// Fields holds the position of each key's value in the ask, by key.
	Fields map[string]Pos
}

// Defaults of an ask, written in the flow format's documentation too.
const (
	DefaultTimeout    = 5 * time.Second
	DefaultInterDigit = 3 * time.Second
	DefaultReprompt   = 1
)

// Choice is one answer an ask accepts: keys, spoken phrases, or both.
type Choice struct {
	Key string // DTMF keys, e.g. "1" or "*9"; "" for speech only
	// Phrases are what a caller may say for this choice, synonyms included
	// ("billing", "pay my bill"); matched as whole words.
	Phrases []string
	Say     *Prompt // optional confirmation, played before going to Next
	Next    Ref
	Pos     Pos // the choice's mapping
	// Fields holds the position of each key's value in the choice, by key.
	Fields map[string]Pos
}

// Retry says what an ask does when a turn fails (no input, or keys that
// match no choice): play Say, if any; repeat the prompt up to Reprompt
// times; after that go to Then, or hang up when Then is absent.
type Retry struct {
	Say      *Prompt
	Reprompt int
	Then     Ref // Then.Node == "": hang up without a goodbye
	Pos      Pos // the retry's mapping; zero when absent from the file
	// Fields holds the position of each key's value in the retry, by key.
	Fields map[string]Pos
}

// Global is an intent active at every node: said (Phrases) or keyed (Key)
// at any prompt, even one that may not be interrupted, it wins over the
// node's own choices.
type Global struct {
	Name    string   // the intent: operator, repeat, goodbye, or a name of the flow's
	Phrases []string // what the caller may say
	Key     string   // DTMF key, "" for none
	// Next is where it goes. Empty for repeat, which plays the current
	// node's prompt again, and for goodbye, which then hangs up at once.
	Next   Ref
	Pos    Pos
	Fields map[string]Pos
}

// Repeat reports whether the intent repeats the current prompt.
func (g *Global) Repeat() bool { return g.Name == "repeat" && g.Next.Node == "" }

// HangsUp reports whether the intent ends the call at once: goodbye
// without a next (a goodbye node can say goodbye first).
func (g *Global) HangsUp() bool { return g.Name == "goodbye" && g.Next.Node == "" }

// Escalation sends a caller who fails After turns in a row (no input or no
// match, at any node) to Next, after Say.
type Escalation struct {
	After int // default 3; 0 in the file turns escalation off
	Next  Ref // default: the operator intent's next
	Say   *Prompt
	Pos   Pos
}

// Transfer hands the call to a person: each target in turn gets a SIP
// REFER; when none takes the call, Fallback (after FallbackSay).
type Transfer struct {
	Say         *Prompt       // before transferring ("Connecting you to a person.")
	Targets     []Target      // tried in order
	Timeout     time.Duration // per target: the wait for the final NOTIFY; default 30s
	FallbackSay *Prompt       // when every target failed
	Fallback    Ref           // where to go then; "" hangs up
	Pos         Pos
	Fields      map[string]Pos
}

// Target is one transfer destination, a SIP URI from the flow file.
type Target struct {
	URI string
	Pos Pos
}

// Assign sets a variable to a template ("{{caller}}").
type Assign struct {
	Name, Value string
	Pos         Pos
}

// Webhook calls an HTTP endpoint (the CRM lookup) and keeps fields of its
// JSON answer in variables; any failure goes to OnError.
type Webhook struct {
	Method  string            // GET (default) or POST
	URL     string            // a template
	Headers map[string]string // templates
	Body    string            // a template, for POST (JSON)
	Timeout time.Duration     // default 3s
	Set     []Assign          // variable <- dotted path into the JSON answer
	OnError Ref               // required
	Pos     Pos
	Fields  map[string]Pos
}

// Hangup ends the call after an optional goodbye.
type Hangup struct {
	Say *Prompt
	Pos Pos // the hangup value
	// Fields holds the position of each key's value in the hangup, by key.
	Fields map[string]Pos
}

// Error is one problem in a flow file, at a position. Load, Parse and Prepare
// return these, joined with errors.Join.
type Error struct {
	Path string // the flow file
	Pos  Pos    // zero when the problem has no position
	Msg  string
	Err  error // the cause, when another package reported it
}

// Error returns "path:line:col: msg[: cause]".
func (e *Error) Error() string {
	s := e.Path + ":"
	switch {
	case e.Pos.Line > 0 && e.Pos.Col > 0:
		s += e.Pos.String() + ":"
	case e.Pos.Line > 0:
		s += fmt.Sprintf("%d:", e.Pos.Line)
	}
	s += " " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
