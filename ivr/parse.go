package ivr

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/switchboard-voice/switchboard/internal/phrase"
)

// The keys each mapping of the format accepts. Anything else is an error, so
// a typo never silently changes a flow, and a key a later version adds is
// rejected by this one rather than ignored.
var (
	flowKeys   = []string{"flow", "start", "nodes", "language", "globals", "escalation"}
	nodeKeys   = []string{"say", "ask", "goto", "hangup", "transfer", "set", "webhook", "next", "barge_in"}
	askKeys    = []string{"prompt", "timeout", "inter_digit", "max_digits", "terminator", "choices", "no_input", "no_match", "endpoint", "end_silence", "max_speech"}
	choiceKeys = []string{"key", "phrases", "say", "next"}
	retryKeys  = []string{"say", "reprompt", "then"}
	hangupKeys = []string{"say"}
	promptKeys = []string{"text", "file"}
)

// nodeKinds are the node keys that say what a node does; a node has exactly one.
var nodeKinds = []struct {
	key  string
	kind NodeKind
}{
	{"say", KindSay},
	{"ask", KindAsk},
	{"goto", KindGoto},
	{"transfer", KindTransfer},
	{"set", KindSet},
	{"webhook", KindWebhook},
	{"hangup", KindHangup},
}

// Limits on values, to catch typos (50 instead of 5s) rather than to constrain.
const (
	maxWait      = time.Minute // timeout, inter_digit
	maxDigits    = 32
	maxReprompts = 10
)

var nodeIDRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)

const dtmfKeys = "0123456789*#ABCD"

// Load reads and validates a flow file. Every problem found is reported, as
// *Error values joined with errors.Join, each reading "path:line:col: what".
func Load(path string) (*Flow, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ivr: load flow: %w", err)
	}
	return Parse(path, data)
}

// Parse validates a flow file's contents; path names the file in errors and
// is the base for relative prompt file paths.
func Parse(path string, data []byte) (*Flow, error) {
	p := &parser{path: path, dir: filepath.Dir(path)}
	f := p.parse(data)
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b *Error) int {
			return cmp.Or(cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col))
		})
		errs := make([]error, len(p.errs))
		for i, e := range p.errs {
			errs[i] = e
		}
		return nil, errors.Join(errs...)
	}
	return f, nil
}

type parser struct {
	path string
	dir  string
	errs []*Error
	refs []refCheck
	f    *Flow
}

// refCheck is a node reference to resolve once every node id is known.
type refCheck struct {
	ref   Ref
	where string
	label string
}

func pos(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column} }

func (p *parser) errorf(n *yaml.Node, where, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if where != "" {
		msg = where + ": " + msg
	}
	e := &Error{Path: p.path, Msg: msg}
	if n != nil {
		e.Pos = pos(n)
	}
	p.errs = append(p.errs, e)
}

func join(where, label string) string {
	switch {
	case where == "":
		return label
	case label == "":
		return where
	}
	return where + ": " + label
}

func (p *parser) parse(data []byte) *Flow {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			p.errs = append(p.errs, &Error{Path: p.path, Pos: Pos{1, 1}, Msg: "empty flow file"})
		} else {
			p.yamlError(err)
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.errorf(&extra, "", "more than one YAML document; a flow file holds one flow")
	} else if err != io.EOF {
		p.yamlError(err)
	}
	if len(doc.Content) == 0 {
		p.errs = append(p.errs, &Error{Path: p.path, Pos: Pos{1, 1}, Msg: "empty flow file"})
		return nil
	}
	root := resolve(doc.Content[0])
	f := &Flow{Path: p.path, Nodes: map[string]*Node{}, Pos: pos(root)}
	p.f = f
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "", "a flow file is a mapping with flow, start and nodes; got %s", describe(root))
		return nil
	}
	fs := p.fields(root, "", "", flowKeys)
	f.Fields = fs.positions()
	if v, ok := fs.get("flow"); ok {
		f.Name = p.str(v.val, "", "flow")
	} else {
		p.errorf(root, "", `missing "flow" (the flow's name)`)
	}
	if v, ok := fs.get("language"); ok {
		f.Language = p.str(v.val, "", "language")
	}
	if v, ok := fs.get("start"); ok {
		f.Start = p.ref(v.val, "", "start")
	} else {
		p.errorf(root, "", `missing "start" (the id of the first node)`)
	}
	v, ok := fs.get("nodes")
	if !ok {
		p.errorf(root, "", `missing "nodes"`)
		return f
	}
	p.nodes(v.key, resolve(v.val))
	p.globals(root, fs)
	p.escalation(fs)
	for _, rc := range p.refs {
		if rc.ref.Node == "" {
			continue
		}
		if _, ok := f.Nodes[rc.ref.Node]; !ok {
			msg := fmt.Sprintf("unknown %s node %q", rc.label, rc.ref.Node)
			if s := suggest(rc.ref.Node, f.Order); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			p.errs = append(p.errs, &Error{Path: p.path, Pos: rc.ref.Pos, Msg: join(rc.where, msg)})
		}
	}
	return f
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns a yaml.v3 syntax error into an *Error. yaml.v3 reports a
// line but no column for those, so the error has a line only.
func (p *parser) yamlError(err error) {
	msg := err.Error()
	e := &Error{Path: p.path, Msg: msg}
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		e.Pos.Line, _ = strconv.Atoi(m[1])
		e.Msg = "yaml: " + m[2]
	}
	p.errs = append(p.errs, e)
}

// nodes decodes the nodes mapping. Node ids go into Order and Nodes first,
// even for nodes with errors, so references to them don't add noise.
func (p *parser) nodes(key, n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "", "nodes: want a mapping of node id to node, got %s", describe(n))
		return
	}
	if len(n.Content) == 0 {
		p.errorf(key, "", "nodes: no nodes")
		return
	}
	seen := map[string]*yaml.Node{}
	type pending struct{ key, val *yaml.Node }
	var todo []pending
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			p.errorf(k, "", "node id: want a name such as main_menu, got %s", describe(k))
			continue
		}
		id := k.Value
		if first, ok := seen[id]; ok {
			p.errorf(k, "", "duplicate node %q (first defined at line %d)", id, first.Line)
			continue
		}
		seen[id] = k
		if !nodeIDRe.MatchString(id) {
			p.errorf(k, "", "node id %q: use letters, digits, _ and -, starting with a letter (at most 64)", id)
		}
		p.f.Order = append(p.f.Order, id)
		p.f.Nodes[id] = &Node{ID: id, Pos: pos(k)}
		todo = append(todo, pending{k, v})
	}
	for _, t := range todo {
		p.node(p.f.Nodes[t.key.Value], t.key, t.val)
	}
}

func (p *parser) node(nd *Node, key, n *yaml.Node) {
	where := fmt.Sprintf("node %q", nd.ID)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, where, "want a mapping with one of say, ask, goto, hangup, transfer, set, webhook; got %s", describe(n))
		return
	}
	fs := p.fields(n, where, "", nodeKeys)
	nd.Fields = fs.positions()
	var kind *field
	kinds := 0
	for _, fd := range fs.list {
		var k NodeKind
		for _, nk := range nodeKinds {
			if fd.name == nk.key {
				k = nk.kind
			}
		}
		if k == 0 {
			continue
		}
		kinds++
		if kind != nil {
			p.errorf(fd.key, where, "has both %s and %s; a node does one thing (chain nodes with next)", kind.name, fd.name)
		} else {
			kind = &fd
			nd.Kind = k
		}
		switch k {
		case KindSay:
			nd.Say = p.prompt(fd.val, where, "say")
		case KindAsk:
			nd.Ask = p.ask(fd.key, resolve(fd.val), where)
		case KindGoto:
			nd.Goto = p.ref(fd.val, where, "goto")
		case KindHangup:
			nd.Hangup = p.hangup(resolve(fd.val), where)
		case KindTransfer:
			nd.Transfer = p.transfer(fd.key, resolve(fd.val), where)
		case KindSet:
			nd.Set = p.assigns(resolve(fd.val), where, "set", false)
		case KindWebhook:
			nd.Webhook = p.webhook(fd.key, resolve(fd.val), where)
		}
	}
	if kind == nil {
		p.errorf(key, where, "nothing to do: want one of say, ask, goto, hangup, transfer, set, webhook")
	}
	if v, ok := fs.get("next"); ok {
		switch nd.Kind {
		case KindSay, KindSet, KindWebhook, 0:
			nd.Next = p.ref(v.val, where, "next")
		case KindTransfer:
			p.errorf(v.key, where, "next does not apply to a transfer node (a transferred call has left the flow; say where a failed transfer goes with fallback)")
		case KindAsk:
			p.errorf(v.key, where, "next does not apply to an ask node (it routes by its choices)")
		case KindGoto:
			p.errorf(v.key, where, "next does not apply to a goto node (goto names the next node)")
		case KindHangup:
			p.errorf(v.key, where, "next does not apply to a hangup node (it ends the call)")
		}
	} else if (nd.Kind == KindSay || nd.Kind == KindSet || nd.Kind == KindWebhook) && kinds == 1 {
		p.errorf(kind.key, where, `missing "next" (the node after %s; end a flow with a hangup node)`, kind.name)
	}
	if v, ok := fs.get("barge_in"); ok {
		nd.BargeIn = p.bargeIn(v.val, where)
		if nd.Kind == KindGoto || nd.Kind == KindSet || nd.Kind == KindWebhook {
			p.errorf(v.key, where, "barge_in does not apply to a %s node (it plays nothing)", nd.Kind)
		}
	}
}

func (p *parser) ask(key, n *yaml.Node, where string) *Ask {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, where, "ask: want a mapping with prompt and choices, got %s", describe(n))
		return nil
	}
	a := &Ask{Pos: pos(n), Timeout: DefaultTimeout, InterDigit: DefaultInterDigit}
	fs := p.fields(n, where, "ask", askKeys)
	a.Fields = fs.positions()
	if v, ok := fs.get("prompt"); ok {
		a.Prompt = p.prompt(v.val, where, "prompt")
	} else {
		p.errorf(key, where, `missing "prompt" in ask`)
	}
	if v, ok := fs.get("timeout"); ok {
		a.Timeout = p.duration(v.val, where, "timeout")
	}
	if v, ok := fs.get("inter_digit"); ok {
		a.InterDigit = p.duration(v.val, where, "inter_digit")
	}
	a.Endpoint = "menu"
	if v, ok := fs.get("endpoint"); ok {
		if e := p.str(v.val, where, "endpoint"); e != "" {
			if !slices.Contains(EndpointPresets, e) {
				p.errorf(v.val, where, "endpoint: %q is not one of %s", e, strings.Join(EndpointPresets, ", "))
			} else {
				a.Endpoint = e
			}
		}
	}
	if v, ok := fs.get("end_silence"); ok {
		a.EndSilence = p.duration(v.val, where, "end_silence")
	}
	if v, ok := fs.get("max_speech"); ok {
		a.MaxSpeech = p.duration(v.val, where, "max_speech")
	}
	maxSet := false
	if v, ok := fs.get("max_digits"); ok {
		if d, ok := p.integer(v.val, where, "max_digits", 1, maxDigits); ok {
			a.MaxDigits, maxSet = d, true
		}
	}
	if v, ok := fs.get("terminator"); ok {
		if t := p.str(v.val, where, "terminator"); t != "" {
			if bad := strings.Trim(t, dtmfKeys); bad != "" {
				p.errorf(v.val, where, "terminator: %q is not a DTMF key (use 0-9, *, #, A-D)", bad)
			} else {
				a.Terminator = t
			}
		}
	}
	v, ok := fs.get("choices")
	if !ok {
		p.errorf(key, where, `missing "choices" in ask`)
	} else if cs := resolve(v.val); cs.Kind != yaml.SequenceNode {
		p.errorf(cs, where, "choices: want a list, got %s", describe(cs))
	} else if len(cs.Content) == 0 {
		p.errorf(cs, where, "choices: empty list")
	} else {
		for i, c := range cs.Content {
			if ch := p.choice(resolve(c), fmt.Sprintf("%s: choice %d", where, i+1)); ch != nil {
				a.Choices = append(a.Choices, ch)
			}
		}
	}
	a.NoInput = p.retry(fs, "no_input", where)
	a.NoMatch = p.retry(fs, "no_match", where)

	// Keys are checked once max_digits and terminator are known.
	longest := 0
	keys := map[string]int{}
	for i, c := range a.Choices {
		if c.Key == "" {
			continue
		}
		cw := fmt.Sprintf("%s: choice %d", where, i+1)
		kp := c.Fields["key"]
		if first, ok := keys[c.Key]; ok {
			p.errs = append(p.errs, &Error{Path: p.path, Pos: kp, Msg: fmt.Sprintf("%s: duplicate key %q (choice %d has it)", cw, c.Key, first)})
			continue
		}
		keys[c.Key] = i + 1
		if a.Terminator != "" && strings.ContainsAny(c.Key, a.Terminator) {
			p.errs = append(p.errs, &Error{Path: p.path, Pos: kp, Msg: fmt.Sprintf("%s: key %q contains the terminator %q", cw, c.Key, a.Terminator)})
		}
		if maxSet && len(c.Key) > a.MaxDigits {
			p.errs = append(p.errs, &Error{Path: p.path, Pos: kp, Msg: fmt.Sprintf("%s: key %q is longer than max_digits %d", cw, c.Key, a.MaxDigits)})
		}
		longest = max(longest, len(c.Key))
	}
	if !maxSet {
		a.MaxDigits = max(longest, 1)
	}
	return a
}

func (p *parser) choice(n *yaml.Node, where string) *Choice {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, where, "want a mapping with key and next, got %s", describe(n))
		return nil
	}
	c := &Choice{Pos: pos(n)}
	fs := p.fields(n, where, "", choiceKeys)
	c.Fields = fs.positions()
	if v, ok := fs.get("key"); ok {
		c.Key = p.dtmf(v.val, where)
	}
	if v, ok := fs.get("phrases"); ok {
		c.Phrases = p.phrases(v.val, where)
	}
	if _, ok := fs.get("key"); !ok && len(c.Phrases) == 0 {
		if _, ok := fs.get("phrases"); !ok {
			p.errorf(n, where, `missing "key" or "phrases" (what the caller presses or says)`)
		}
	}
	if v, ok := fs.get("say"); ok {
		c.Say = p.prompt(v.val, where, "say")
	}
	if v, ok := fs.get("next"); ok {
		c.Next = p.ref(v.val, where, "next")
	} else {
		p.errorf(n, where, `missing "next"`)
	}
	return c
}

// phrases decodes a choice's phrases: a list of text, or one text.
func (p *parser) phrases(n *yaml.Node, where string) []string {
	n = resolve(n)
	var out []string
	switch n.Kind {
	case yaml.ScalarNode:
		if t := p.str(n, where, "phrases"); t != "" {
			out = append(out, t)
		}
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			p.errorf(n, where, "phrases: empty list")
		}
		for _, e := range n.Content {
			if t := p.str(e, where, "phrases"); t != "" {
				out = append(out, t)
			}
		}
	default:
		p.errorf(n, where, "phrases: want a list of text, got %s", describe(n))
	}
	for _, t := range out {
		if phrase.Normalize(t) == "" {
			p.errorf(n, where, "phrases: %q has no words", t)
		}
	}
	return out
}

// bargeIn decodes barge_in: speech, hotword, off, or true/false.
func (p *parser) bargeIn(n *yaml.Node, where string) BargeIn {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		if b, ok := p.boolean(n, where, "barge_in"); ok && !b {
			return BargeInOff
		}
		return BargeInSpeech
	}
	switch v := p.str(n, where, "barge_in"); v {
	case "speech":
		return BargeInSpeech
	case "hotword":
		return BargeInHotword
	case "off":
		return BargeInOff
	case "":
	default:
		p.errorf(n, where, "barge_in: %q is not speech, hotword or off", v)
	}
	return BargeInSpeech
}

// retry decodes no_input or no_match; an absent one gets the defaults.
func (p *parser) retry(fs fieldset, name, where string) Retry {
	r := Retry{Reprompt: DefaultReprompt}
	v, ok := fs.get(name)
	if !ok {
		return r
	}
	n := resolve(v.val)
	r.Pos = pos(n)
	w := join(where, name)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, w, "want a mapping with say, reprompt and then, got %s", describe(n))
		return r
	}
	rf := p.fields(n, where, name, retryKeys)
	r.Fields = rf.positions()
	if v, ok := rf.get("say"); ok {
		r.Say = p.prompt(v.val, w, "say")
	}
	if v, ok := rf.get("reprompt"); ok {
		if d, ok := p.integer(v.val, w, "reprompt", 0, maxReprompts); ok {
			r.Reprompt = d
		}
	}
	if v, ok := rf.get("then"); ok {
		r.Then = p.ref(v.val, w, "then")
	}
	return r
}

func (p *parser) hangup(n *yaml.Node, where string) *Hangup {
	h := &Hangup{Pos: pos(n)}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return h // "hangup:" alone: no goodbye
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, where, "hangup: want a mapping ({} or {say: ...}), got %s", describe(n))
		return h
	}
	fs := p.fields(n, where, "hangup", hangupKeys)
	h.Fields = fs.positions()
	if v, ok := fs.get("say"); ok {
		h.Say = p.prompt(v.val, where, "say")
	}
	return h
}

// prompt decodes text ("..."), {text: ...} or {file: ...}.
func (p *parser) prompt(n *yaml.Node, where, label string) *Prompt {
	n = resolve(n)
	w := join(where, label)
	pr := &Prompt{Pos: pos(n)}
	switch {
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str":
		pr.Text = n.Value
	case n.Kind == yaml.MappingNode:
		fs := p.fields(n, where, label, promptKeys)
		t, hasText := fs.get("text")
		f, hasFile := fs.get("file")
		switch {
		case hasText && hasFile:
			p.errorf(f.key, w, "has both text and file; give one")
			return nil
		case hasText:
			pr.Text = p.str(t.val, w, "text")
			if pr.Text == "" {
				return nil
			}
		case hasFile:
			pr.File = p.str(f.val, w, "file")
			if pr.File == "" {
				return nil
			}
			pr.Path = pr.File
			if !filepath.IsAbs(pr.Path) {
				pr.Path = filepath.Join(p.dir, pr.Path)
			}
			p.f.prompts = append(p.f.prompts, pr)
			return pr
		default:
			p.errorf(n, w, "want text or file")
			return nil
		}
	default:
		p.errorf(n, w, "want text, {text: ...} or {file: ...}; got %s", describe(n))
		return nil
	}
	if strings.TrimSpace(pr.Text) == "" {
		p.errorf(n, w, "empty text")
		return nil
	}
	if names, err := templateVars(pr.Text); err != nil {
		p.errorf(n, w, "%v", err)
		return nil
	} else if len(names) > 0 {
		pr.templated = true
	}
	p.f.prompts = append(p.f.prompts, pr)
	return pr
}

// ref decodes a node id and queues it for the check that the node exists.
func (p *parser) ref(n *yaml.Node, where, label string) Ref {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" || n.Value == "" {
		p.errorf(n, where, "%s: want a node id, got %s", label, describe(n))
		return Ref{}
	}
	r := Ref{Node: n.Value, Pos: pos(n)}
	p.refs = append(p.refs, refCheck{ref: r, where: where, label: label})
	return r
}

func (p *parser) str(n *yaml.Node, where, label string) string {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		p.errorf(n, where, "%s: want text, got %s", label, describe(n))
		return ""
	}
	if n.Value == "" {
		p.errorf(n, where, "%s: empty", label)
	}
	return n.Value
}

// dtmf decodes a choice key. Digits may be written bare (key: 1); # and *
// must be quoted in YAML, which the error for an unquoted # points out.
func (p *parser) dtmf(n *yaml.Node, where string) string {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!str" && n.ShortTag() != "!!int") {
		hint := ""
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
			hint = ` (quote "#" and "*": in YAML a bare # starts a comment)`
		}
		p.errorf(n, where, "key: want DTMF keys such as \"1\", got %s%s", describe(n), hint)
		return ""
	}
	k := n.Value
	if k == "" || strings.Trim(k, dtmfKeys) != "" {
		p.errorf(n, where, "key: %q is not DTMF keys (use 0-9, *, #, A-D)", k)
		return ""
	}
	if len(k) > maxDigits {
		p.errorf(n, where, "key: %q is longer than %d keys", k, maxDigits)
		return ""
	}
	return k
}

func (p *parser) duration(n *yaml.Node, where, label string) time.Duration {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float") {
		p.errorf(n, where, "%s: %s has no unit (write e.g. %ss)", label, n.Value, n.Value)
		return 0
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		p.errorf(n, where, "%s: want a duration such as 5s, got %s", label, describe(n))
		return 0
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		p.errorf(n, where, "%s: bad duration %q (write e.g. 5s or 1500ms)", label, n.Value)
		return 0
	}
	if d <= 0 || d > maxWait {
		p.errorf(n, where, "%s: %s is out of range (0 to %s)", label, n.Value, maxWait)
		return 0
	}
	return d
}

func (p *parser) integer(n *yaml.Node, where, label string, lo, hi int) (int, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		p.errorf(n, where, "%s: want a whole number, got %s", label, describe(n))
		return 0, false
	}
	d, err := strconv.Atoi(n.Value)
	if err != nil || d < lo || d > hi {
		p.errorf(n, where, "%s: %s is out of range (%d to %d)", label, n.Value, lo, hi)
		return 0, false
	}
	return d, true
}

func (p *parser) boolean(n *yaml.Node, where, label string) (bool, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		p.errorf(n, where, "%s: want true or false, got %s", label, describe(n))
		return false, false
	}
	b, err := strconv.ParseBool(n.Value)
	if err != nil {
		// yaml.v3 resolves a few spellings ParseBool doesn't, e.g. "True"; both agree on the rest.
		b = strings.EqualFold(n.Value, "true")
	}
	return b, true
}

// field is one key: value of a mapping.
type field struct {
	name     string
	key, val *yaml.Node
}

// fieldset is a mapping's known fields, in file order.
type fieldset struct {
	list []field
}

func (fs fieldset) get(name string) (field, bool) {
	for _, f := range fs.list {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

func (fs fieldset) positions() map[string]Pos {
	m := make(map[string]Pos, len(fs.list))
	for _, f := range fs.list {
		m[f.name] = pos(resolve(f.val))
	}
	return m
}

// fields returns the known fields of mapping n, reporting unknown and
// duplicate keys. in names the mapping in messages ("ask"); "" for a node
// or the top level, which where already names.
func (p *parser) fields(n *yaml.Node, where, in string, known []string) fieldset {
	var fs fieldset
	suffix := ""
	if in != "" {
		suffix = " in " + in
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, where, "want a key%s, got %s", suffix, describe(k))
			continue
		}
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			p.errorf(k, where, "merge keys (<<) are not supported%s", suffix)
			continue
		}
		if !slices.Contains(known, k.Value) {
			msg := fmt.Sprintf("unknown key %q%s", k.Value, suffix)
			if s := suggest(k.Value, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			p.errorf(k, where, "%s", msg)
			continue
		}
		if prev, ok := fs.get(k.Value); ok {
			p.errorf(k, where, "duplicate key %q%s (first at line %d)", k.Value, suffix, prev.key.Line)
			continue
		}
		fs.list = append(fs.list, field{name: k.Value, key: k, val: v})
	}
	return fs
}

// resolve follows an alias (*name) to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// describe names a node's type for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		case "!!bool":
			return n.Value
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!str":
			return fmt.Sprintf("%q", n.Value)
		}
		return n.ShortTag() + " " + n.Value
	}
	return "an unexpected value"
}

// suggest returns the candidate closest to s when it is close enough to be
// a likely typo, or "".
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD && d < len(c) {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
