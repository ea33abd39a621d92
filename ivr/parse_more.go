package ivr

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Keys of the mappings added for global intents, transfer, set and webhook.
var (
	globalKeys     = []string{"phrases", "key", "next"}
	escalationKeys = []string{"after", "next", "say"}
	transferKeys   = []string{"say", "targets", "timeout", "fallback"}
	fallbackKeys   = []string{"say", "next"}
	webhookKeys    = []string{"url", "method", "headers", "body", "timeout", "set", "on_error"}
)

// Defaults of global intents, transfers and webhooks.
const (
	DefaultEscalationAfter = 3
	DefaultTransferTimeout = 30 * time.Second
	DefaultWebhookTimeout  = 3 * time.Second
)

// standardGlobals are the intents a flow may name without phrases: their
// phrases and key are the usual ones.
var standardGlobals = map[string]Global{
	"operator": {Phrases: []string{"operator", "agent", "representative", "human", "a real person", "a person", "customer service"}, Key: "0"},
	"repeat":   {Phrases: []string{"repeat", "say that again", "repeat that", "again please"}},
	"goodbye":  {Phrases: []string{"goodbye", "bye bye", "hang up"}},
}

// DefaultGlobals are the intents of a flow without a globals: key: repeat,
// and goodbye (which hangs up). They have no operator, which needs a
// transfer node to go to, so lint reports such a flow.
func DefaultGlobals() []*Global {
	r, g := standardGlobals["repeat"], standardGlobals["goodbye"]
	return []*Global{{Name: "repeat", Phrases: r.Phrases}, {Name: "goodbye", Phrases: g.Phrases}}
}

// globals decodes the globals: mapping (intent name -> {phrases, key, next}).
func (p *parser) globals(root *yaml.Node, fs fieldset) {
	v, ok := fs.get("globals")
	if !ok {
		p.f.Globals = DefaultGlobals()
		return
	}
	n := resolve(v.val)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "", "globals: want a mapping of intent name to {phrases, key, next}, got %s", describe(n))
		return
	}
	keys := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], resolve(n.Content[i+1])
		name := k.Value
		where := fmt.Sprintf("global %q", name)
		if !varNameRe.MatchString(name) {
			p.errorf(k, "", "global %q: an intent name is lower case letters, digits and _", name)
			continue
		}
		std, isStd := standardGlobals[name]
		g := &Global{Name: name, Pos: pos(k), Key: std.Key, Phrases: slices.Clone(std.Phrases)}
		switch {
		case val.Kind == yaml.ScalarNode && val.ShortTag() == "!!null":
			// "repeat:" alone: the standard one.
		case val.Kind == yaml.MappingNode:
			gf := p.fields(val, where, "", globalKeys)
			g.Fields = gf.positions()
			if f, ok := gf.get("phrases"); ok {
				g.Phrases = p.phrases(f.val, where)
			}
			if f, ok := gf.get("key"); ok {
				g.Key = p.dtmf(f.val, where)
			}
			if f, ok := gf.get("next"); ok {
				g.Next = p.ref(f.val, where, "next")
			}
		default:
			p.errorf(val, where, "want a mapping with phrases, key and next, got %s", describe(val))
			continue
		}
		if !isStd && len(g.Phrases) == 0 && g.Key == "" {
			p.errorf(k, where, "give phrases or a key (only operator, repeat and goodbye have standard ones)")
		}
		if g.Next.Node == "" && name != "repeat" && name != "goodbye" {
			p.errorf(k, where, `missing "next" (where the intent takes the caller; only repeat and goodbye may go without)`)
		}
		if g.Key != "" {
			if other, dup := keys[g.Key]; dup {
				p.errorf(k, where, "key %q is already the %s intent's", g.Key, other)
			}
			keys[g.Key] = name
		}
		p.f.Globals = append(p.f.Globals, g)
	}
}

// Global returns the flow's intent of that name, or nil.
func (f *Flow) Global(name string) *Global {
	for _, g := range f.Globals {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// escalation decodes escalation: {after, next, say}; by default a caller who
// fails three turns in a row goes where the operator intent goes.
func (p *parser) escalation(fs fieldset) {
	e := &p.f.Escalation
	e.After = DefaultEscalationAfter
	if v, ok := fs.get("escalation"); ok {
		n := resolve(v.val)
		e.Pos = pos(n)
		if n.Kind != yaml.MappingNode {
			p.errorf(n, "", "escalation: want a mapping with after, next and say, got %s", describe(n))
			return
		}
		ef := p.fields(n, "", "escalation", escalationKeys)
		if f, ok := ef.get("after"); ok {
			if d, ok := p.integer(f.val, "escalation", "after", 0, 20); ok {
				e.After = d
			}
		}
		if f, ok := ef.get("next"); ok {
			e.Next = p.ref(f.val, "escalation", "next")
		}
		if f, ok := ef.get("say"); ok {
			e.Say = p.prompt(f.val, "escalation", "say")
		}
	}
	if e.Next.Node == "" {
		if op := p.f.Global("operator"); op != nil {
			e.Next = op.Next
		}
	}
}

// transfer decodes a transfer node.
func (p *parser) transfer(key, n *yaml.Node, where string) *Transfer {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, where, "transfer: want a mapping with targets, got %s", describe(n))
		return nil
	}
	t := &Transfer{Pos: pos(n), Timeout: DefaultTransferTimeout}
	fs := p.fields(n, where, "transfer", transferKeys)
	t.Fields = fs.positions()
	if v, ok := fs.get("say"); ok {
		t.Say = p.prompt(v.val, where, "say")
	}
	if v, ok := fs.get("timeout"); ok {
		t.Timeout = p.duration(v.val, where, "timeout")
	}
	v, ok := fs.get("targets")
	if !ok {
		p.errorf(key, where, `missing "targets" in transfer (SIP URIs of the people to hand the call to)`)
	} else {
		tn := resolve(v.val)
		items := []*yaml.Node{tn}
		if tn.Kind == yaml.SequenceNode {
			items = tn.Content
			if len(items) == 0 {
				p.errorf(tn, where, "targets: empty list")
			}
		}
		for _, it := range items {
			uri := p.str(it, where, "targets")
			if uri == "" {
				continue
			}
			if err := checkSIPURI(uri); err != nil {
				p.errorf(it, where, "targets: %v", err)
				continue
			}
			t.Targets = append(t.Targets, Target{URI: uri, Pos: pos(resolve(it))})
		}
	}
	if v, ok := fs.get("fallback"); ok {
		fn := resolve(v.val)
		w := join(where, "fallback")
		if fn.Kind != yaml.MappingNode {
			p.errorf(fn, w, "want a mapping with say and next, got %s", describe(fn))
		} else {
			ff := p.fields(fn, where, "fallback", fallbackKeys)
			if f, ok := ff.get("say"); ok {
				t.FallbackSay = p.prompt(f.val, w, "say")
			}
			if f, ok := ff.get("next"); ok {
				t.Fallback = p.ref(f.val, w, "next")
			}
		}
	}
	return t
}

// checkSIPURI accepts sip:, sips: and tel: URIs with something after the
// scheme and nothing that would break a header.
func checkSIPURI(uri string) error {
	scheme, rest, ok := strings.Cut(uri, ":")
	switch {
	case !ok || rest == "":
		return fmt.Errorf("%q is not a SIP URI (write sip:user@host)", uri)
	case scheme != "sip" && scheme != "sips" && scheme != "tel":
		return fmt.Errorf("%q: scheme %q is not sip, sips or tel", uri, scheme)
	case strings.ContainsAny(uri, " \t\r\n<>\""):
		return fmt.Errorf("%q: a SIP URI has no spaces, quotes or angle brackets", uri)
	}
	if scheme != "tel" {
		host := rest[strings.LastIndex(rest, "@")+1:]
		if host == "" || host[0] == ';' || host[0] == ':' {
			return fmt.Errorf("%q has no host", uri)
		}
	}
	return nil
}

// assigns decodes a mapping of variable name to template (set:) or to a
// path into a JSON answer (webhook set:).
func (p *parser) assigns(n *yaml.Node, where, label string, paths bool) []Assign {
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		p.errorf(n, where, "%s: want a mapping of variable name to value, got %s", label, describe(n))
		return nil
	}
	var out []Assign
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if !varNameRe.MatchString(k.Value) {
			p.errorf(k, where, "%s: %q is not a variable name (lower case letters, digits and _)", label, k.Value)
			continue
		}
		if k.Value == VarCaller || k.Value == VarCalled || k.Value == VarCallID {
			p.errorf(k, where, "%s: %s is set by the call and cannot be changed", label, k.Value)
			continue
		}
		if v.Kind != yaml.ScalarNode || v.ShortTag() == "!!null" {
			p.errorf(v, where, "%s: %s: want a value, got %s", label, k.Value, describe(v))
			continue
		}
		if !paths {
			if _, err := templateVars(v.Value); err != nil {
				p.errorf(v, where, "%s: %s: %v", label, k.Value, err)
				continue
			}
		}
		out = append(out, Assign{Name: k.Value, Value: v.Value, Pos: pos(k)})
	}
	return out
}

// webhook decodes a webhook node.
func (p *parser) webhook(key, n *yaml.Node, where string) *Webhook {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, where, "webhook: want a mapping with url, got %s", describe(n))
		return nil
	}
	w := &Webhook{Pos: pos(n), Method: "GET", Timeout: DefaultWebhookTimeout}
	fs := p.fields(n, where, "webhook", webhookKeys)
	w.Fields = fs.positions()
	if v, ok := fs.get("url"); ok {
		w.URL = p.str(v.val, where, "url")
		if _, err := templateVars(w.URL); err != nil {
			p.errorf(v.val, where, "url: %v", err)
		} else if u, err := url.Parse(expand(w.URL, nil, nil)); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.errorf(v.val, where, "url: %q is not an http or https URL", w.URL)
		}
	} else {
		p.errorf(key, where, `missing "url" in webhook`)
	}
	if v, ok := fs.get("method"); ok {
		w.Method = strings.ToUpper(p.str(v.val, where, "method"))
		if w.Method != "GET" && w.Method != "POST" {
			p.errorf(v.val, where, "method: %q is not GET or POST", w.Method)
		}
	}
	if v, ok := fs.get("headers"); ok {
		w.Headers = map[string]string{}
		for _, a := range p.assignsAny(resolve(v.val), where, "headers") {
			w.Headers[a.Name] = a.Value
		}
	}
	if v, ok := fs.get("body"); ok {
		w.Body = p.str(v.val, where, "body")
		if w.Method != "POST" {
			p.errorf(v.key, where, "body needs method: POST")
		}
	}
	if v, ok := fs.get("timeout"); ok {
		w.Timeout = p.duration(v.val, where, "timeout")
	}
	if v, ok := fs.get("set"); ok {
		w.Set = p.assigns(resolve(v.val), where, "set", true)
	}
	if v, ok := fs.get("on_error"); ok {
		w.OnError = p.ref(v.val, where, "on_error")
	} else {
		p.errorf(key, where, `missing "on_error" in webhook (where the call goes when the request fails)`)
	}
	return w
}

// assignsAny decodes a mapping of header name to template.
func (p *parser) assignsAny(n *yaml.Node, where, label string) []Assign {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, where, "%s: want a mapping, got %s", label, describe(n))
		return nil
	}
	var out []Assign
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if v.Kind != yaml.ScalarNode {
			p.errorf(v, where, "%s: %s: want text, got %s", label, k.Value, describe(v))
			continue
		}
		out = append(out, Assign{Name: k.Value, Value: v.Value, Pos: pos(k)})
	}
	return out
}
