package ivr

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/switchboard-voice/switchboard/internal/phrase"
)

// Severity says whether a finding refuses a flow (SeverityError) or only
// points at something to improve (SeverityWarning).
type Severity int

// The severities of findings.
const (
	SeverityError Severity = iota + 1
	SeverityWarning
)

func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// Finding is one problem Lint found in a flow, at the best position it has:
// the node, the field, the choice or the phrase.
type Finding struct {
	Path     string // the flow file
	Pos      Pos    // zero when the problem is the file's as a whole
	Severity Severity
	Msg      string
}

// String returns "path:line:col: error: msg" or "path:line:col: warning: msg".
func (f Finding) String() string {
	s := f.Path + ":"
	switch {
	case f.Pos.Line > 0 && f.Pos.Col > 0:
		s += f.Pos.String() + ":"
	case f.Pos.Line > 0:
		s += strconv.Itoa(f.Pos.Line) + ":"
	}
	return s + " " + f.Severity.String() + ": " + f.Msg
}

// Limits of the product rules Lint checks (PRODUCT.md, rules 1 and 5).
const (
	lintMaxHumanActions = 2  // a person is at most this many caller actions away
	lintMaxPromptWords  = 25 // longer prompts get a warning
	lintMaxChoices      = 5  // larger menus get a warning
)

// Lint checks a flow that Load (or Parse) accepted against the product's
// rules and returns what it found, sorted by position. Load has already
// rejected syntax and unknown references; Lint looks at the flow as a
// whole. Errors:
//
//   - a node that no path from start reaches;
//   - a node with no way forward (see traps);
//   - an ask without a no_input or no_match block (the default hangs up
//     without a goodbye);
//   - a prompt file that does not exist or cannot be read;
//   - a transfer target that is not a usable SIP or tel URI;
//   - no usable operator intent, an operator intent that does not lead to a
//     transfer node, an escalation next that does not, or a choice that a
//     global intent shadows (its key, or a phrase overlapping an intent's:
//     global intents win at every node);
//   - a say or ask node from which a person is more than two caller actions
//     away (see humanDistance).
//
// Warnings: prompts over 25 words, menus over 5 choices, phrases that two
// choices of one ask share, and escalation turned off.
//
// Lint reads the flow file again for positions the Flow does not keep (each
// phrase, escalation's after); without the file it falls back to the
// enclosing field's position.
func Lint(f *Flow) []Finding {
	l := &linter{f: f}
	if data, err := os.ReadFile(f.Path); err == nil {
		var doc yaml.Node
		if yaml.Unmarshal(data, &doc) == nil && len(doc.Content) > 0 {
			l.doc = doc.Content[0]
		}
	}
	l.reachable()
	l.traps()
	l.asks()
	l.prompts()
	l.transfers()
	l.dist = l.humanDistance()
	l.operator()
	l.shadowed()
	l.humans()
	slices.SortStableFunc(l.out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col),
			cmp.Compare(a.Severity, b.Severity))
	})
	return l.out
}

type linter struct {
	f     *Flow
	out   []Finding
	doc   *yaml.Node      // the flow file's top mapping; nil when it cannot be read
	reach map[string]bool // nodes some path from start reaches
	// looped holds the nodes reported as part of a loop without input, so
	// the "no way forward" check does not report them twice.
	looped map[string]bool
	dist   map[string]int // caller actions to a person, by node (humanDistance); set before operator and humans run
}

func (l *linter) errorf(p Pos, format string, args ...any) {
	l.out = append(l.out, Finding{Path: l.f.Path, Pos: p, Severity: SeverityError, Msg: fmt.Sprintf(format, args...)})
}

func (l *linter) warnf(p Pos, format string, args ...any) {
	l.out = append(l.out, Finding{Path: l.f.Path, Pos: p, Severity: SeverityWarning, Msg: fmt.Sprintf(format, args...)})
}

// exit is one way out of a node.
type exit struct {
	to string
	// actions is how many caller actions taking it needs: 0 for the flow's
	// own moves, 1 for a choice or a global intent, the failed turns for a
	// retry's then or escalation.
	actions int
	auto    bool // taken without the caller: say/set/webhook next, goto, on_error, transfer fallback
	global  bool // a global intent's next
}

// exits lists a node's ways out: its own (for a webhook, next first),
// then the global intents'.
// Global intents apply at say and ask nodes, the nodes that listen.
func (l *linter) exits(n *Node) []exit {
	var out []exit
	add := func(r Ref, actions int, auto bool) {
		if r.Node != "" {
			out = append(out, exit{to: r.Node, actions: actions, auto: auto})
		}
	}
	switch n.Kind {
	case KindSay, KindSet:
		add(n.Next, 0, true)
	case KindGoto:
		add(n.Goto, 0, true)
	case KindWebhook:
		add(n.Next, 0, true)
		if n.Webhook != nil {
			add(n.Webhook.OnError, 0, true)
		}
	case KindTransfer:
		if n.Transfer != nil {
			add(n.Transfer.Fallback, 0, true)
		}
	case KindAsk:
		if a := n.Ask; a != nil {
			for _, c := range a.Choices {
				add(c.Next, 1, false)
			}
			add(a.NoInput.Then, a.NoInput.Reprompt+1, false)
			add(a.NoMatch.Then, a.NoMatch.Reprompt+1, false)
			if e := l.f.Escalation; e.After > 0 {
				add(e.Next, e.After, false)
			}
		}
	}
	if n.Kind == KindSay || n.Kind == KindAsk {
		for _, g := range l.f.Globals {
			if !g.Repeat() && !g.HangsUp() && (g.Key != "" || len(g.Phrases) > 0) {
				out = append(out, exit{to: g.Next.Node, actions: 1, global: true})
			}
		}
	}
	return out
}

// reachable reports nodes that no path from start reaches, following every
// exit: next, goto, choices, retries' then, escalation, transfer fallback,
// on_error, and global intents from the nodes that listen for them.
func (l *linter) reachable() {
	l.reach = map[string]bool{}
	todo := []string{l.f.Start.Node}
	for len(todo) > 0 {
		id := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		n := l.f.Nodes[id]
		if n == nil || l.reach[id] {
			continue
		}
		l.reach[id] = true
		for _, e := range l.exits(n) {
			todo = append(todo, e.to)
		}
	}
	for _, id := range l.f.Order {
		if !l.reach[id] {
			l.errorf(l.f.Nodes[id].Pos, "node %q is unreachable: no path from start %q leads to it", id, l.f.Start.Node)
		}
	}
}

// traps reports nodes with no way forward. For a caller, a way forward is a
// path that ends the call properly: at a hangup node, an ask's retry that
// hangs up, or a transfer to a person. Two things take it away:
//
//   - A loop of say, goto, set and webhook nodes: the call goes round it
//     without asking the caller anything, until the engine's MaxTransitions
//     guard drops it. It counts even when a webhook's other exit leaves
//     the loop, since nothing the caller does decides that.
//   - A node from which every path (choices, retries, escalation, the
//     flow's own moves) stays among nodes that never end, such as a path
//     into such a loop, or a menu whose every answer comes back to it with
//     escalation off. Global intents are left out here: a caller who can
//     only leave by saying "operator" is trapped.
//
// Only reachable nodes are checked; unreachable ones are reported as such.
func (l *linter) traps() {
	f := l.f
	l.looped = map[string]bool{}
	silent := func(n *Node) bool {
		return n != nil && (n.Kind == KindSay || n.Kind == KindGoto || n.Kind == KindSet || n.Kind == KindWebhook)
	}
	// next returns the silent nodes a silent node moves to by itself.
	next := func(n *Node) []string {
		var out []string
		for _, e := range l.exits(n) {
			if e.auto && silent(f.Nodes[e.to]) {
				out = append(out, e.to)
			}
		}
		return out
	}
	// path returns the shortest path of silent moves from a to b (a first,
	// b last, a == b allowed), or nil.
	path := func(a, b string) []string {
		prev := map[string]string{}
		queue := []string{a}
		for len(queue) > 0 {
			id := queue[0]
			queue = queue[1:]
			for _, to := range next(f.Nodes[id]) {
				if _, seen := prev[to]; seen {
					continue
				}
				prev[to] = id
				if to == b {
					p := []string{b}
					for at := id; at != a; at = prev[at] {
						p = append(p, at)
					}
					p = append(p, a)
					slices.Reverse(p)
					return p
				}
				queue = append(queue, to)
			}
		}
		return nil
	}
	for _, id := range f.Order {
		n := f.Nodes[id]
		if !l.reach[id] || !silent(n) || l.looped[id] {
			continue
		}
		cycle := path(id, id)
		if cycle == nil {
			continue
		}
		// Everything on a loop through id is in id's strongly connected
		// component; mark all of it so the loop is reported once, at the
		// node written first.
		for _, other := range f.Order {
			if other == id || (silent(f.Nodes[other]) && path(id, other) != nil && path(other, id) != nil) {
				l.looped[other] = true
			}
		}
		l.errorf(n.Pos, "node %q loops without asking the caller anything (%s): the call goes round until it is dropped; put an ask in the loop or end it with a hangup or transfer node",
			id, strings.Join(cycle, " > "))
	}

	// ends: nodes from which some path ends the call, found backwards from
	// the hangup and transfer nodes and the asks whose retries hang up.
	ends := map[string]bool{}
	for _, id := range f.Order {
		n := f.Nodes[id]
		switch {
		case n.Kind == KindHangup, n.Kind == KindTransfer:
			ends[id] = true
		case n.Kind == KindAsk && n.Ask != nil && (n.Ask.NoInput.Then.Node == "" || n.Ask.NoMatch.Then.Node == ""):
			ends[id] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for _, id := range f.Order {
			if ends[id] {
				continue
			}
			for _, e := range l.exits(f.Nodes[id]) {
				if !e.global && ends[e.to] {
					ends[id], changed = true, true
					break
				}
			}
		}
	}
	for _, id := range f.Order {
		if l.reach[id] && !ends[id] && !l.looped[id] {
			l.errorf(f.Nodes[id].Pos, "node %q has no way forward: every path from it goes round without reaching a hangup or transfer node (only a global intent gets the caller out)", id)
		}
	}
}

// asks reports asks without no_input or no_match blocks, menus with too
// many choices, and phrases two choices share.
func (l *linter) asks() {
	for _, id := range l.f.Order {
		n := l.f.Nodes[id]
		a := n.Ask
		if n.Kind != KindAsk || a == nil {
			continue
		}
		for _, r := range []struct {
			name  string
			retry Retry
			what  string
		}{
			{"no_input", a.NoInput, "a caller who says nothing"},
			{"no_match", a.NoMatch, "a caller whose answer matches no choice"},
		} {
			if r.retry.Pos == (Pos{}) {
				l.errorf(a.Pos, "node %q: ask has no %s: %s is hung up on without a goodbye; add %s: {then: NODE}", id, r.name, r.what, r.name)
			}
		}
		if len(a.Choices) > lintMaxChoices {
			l.warnf(fieldPos(a.Fields, "choices", a.Pos), "node %q: menu has %d choices; callers keep 4 or 5 in mind at most: split it into two levels", id, len(a.Choices))
		}
		for j, cj := range a.Choices {
			for qi, q := range cj.Phrases {
				for i, ci := range a.Choices[:j] {
					for _, p := range ci.Phrases {
						// p belongs to the earlier choice i, q to choice j.
						var msg string
						switch {
						case phrase.Normalize(p) == phrase.Normalize(q):
							msg = fmt.Sprintf("phrase %q is also choice %d's: saying it matches both, which counts as no match", q, i+1)
						case phrase.Contains(q, p):
							msg = fmt.Sprintf("phrase %q contains choice %d's phrase %q: the longest phrase wins, so %q picks choice %d and %q alone choice %d", q, i+1, p, q, j+1, p, i+1)
						case phrase.Contains(p, q):
							msg = fmt.Sprintf("phrase %q is part of choice %d's phrase %q: the longest phrase wins, so %q picks choice %d and %q alone choice %d", q, i+1, p, p, i+1, q, j+1)
						default:
							continue
						}
						l.warnf(l.phrasePos(cj, q, "nodes", id, "ask", "choices", j, "phrases", qi), "node %q: choice %d: %s", id, j+1, msg)
					}
				}
			}
		}
	}
}

// promptAt is a prompt and where it is, for messages.
type promptAt struct {
	where string
	p     *Prompt
}

// allPrompts lists the flow's prompts in file order of their nodes.
func (l *linter) allPrompts() []promptAt {
	var out []promptAt
	add := func(where string, p *Prompt) {
		if p != nil {
			out = append(out, promptAt{where, p})
		}
	}
	for _, id := range l.f.Order {
		n := l.f.Nodes[id]
		w := fmt.Sprintf("node %q", id)
		add(w+": say", n.Say)
		if a := n.Ask; a != nil {
			add(w+": prompt", a.Prompt)
			for i, c := range a.Choices {
				add(fmt.Sprintf("%s: choice %d: say", w, i+1), c.Say)
			}
			add(w+": no_input: say", a.NoInput.Say)
			add(w+": no_match: say", a.NoMatch.Say)
		}
		if h := n.Hangup; h != nil {
			add(w+": say", h.Say)
		}
		if t := n.Transfer; t != nil {
			add(w+": say", t.Say)
			add(w+": fallback: say", t.FallbackSay)
		}
	}
	add("escalation: say", l.f.Escalation.Say)
	return out
}

// prompts reports missing prompt files and long prompts.
func (l *linter) prompts() {
	for _, pa := range l.allPrompts() {
		p := pa.p
		if p.File != "" {
			if msg := checkPromptFile(p.Path); msg != "" {
				l.errorf(p.Pos, "%s: prompt file %q %s", pa.where, p.File, msg)
			}
			continue
		}
		if n := len(strings.Fields(p.Text)); n > lintMaxPromptWords {
			l.warnf(p.Pos, "%s: prompt has %d words; callers lose track of long prompts: keep it to %d (split it over two nodes)", pa.where, n, lintMaxPromptWords)
		}
	}
}

// checkPromptFile says what is wrong with a prompt file, or "".
func checkPromptFile(path string) string {
	fh, err := os.Open(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("does not exist (looked for %s)", path)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf("is not readable (%s: permission denied)", path)
	case err != nil:
		return fmt.Sprintf("cannot be read: %v", err)
	}
	defer fh.Close()
	if st, err := fh.Stat(); err == nil && st.IsDir() {
		return fmt.Sprintf("is a directory (%s)", path)
	}
	return ""
}

// transfers reports transfer targets that are not usable URIs.
func (l *linter) transfers() {
	for _, id := range l.f.Order {
		t := l.f.Nodes[id].Transfer
		if t == nil {
			continue
		}
		for _, tg := range t.Targets {
			if msg := checkTargetURI(tg.URI); msg != "" {
				l.errorf(tg.Pos, "node %q: transfer target %q %s", id, tg.URI, msg)
			}
		}
	}
}

// checkTargetURI finishes what Load's checkSIPURI starts (the scheme, no
// spaces, something after the scheme): a sip or sips URI has a host, a
// user part that is not empty when it has an @, and a numeric port when it
// has one (RFC 3261 §19.1.1); a tel URI has a number (RFC 3966). It says
// what is wrong, or "".
func checkTargetURI(uri string) string {
	scheme, rest, _ := strings.Cut(uri, ":")
	if scheme == "tel" {
		number, _, _ := strings.Cut(rest, ";")
		if number == "" || !strings.ContainsAny(number, "0123456789") {
			return "has no phone number"
		}
		if bad := strings.Trim(strings.TrimPrefix(number, "+"), "0123456789-.()*#ABCDEFabcdef"); bad != "" {
			return fmt.Sprintf("is not a phone number (%q)", bad)
		}
		return ""
	}
	// The user part may hold ; and ?, so the host is what follows the last @.
	hostport := rest
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		user, _, _ := strings.Cut(rest[:i], ":") // user:password
		if user == "" {
			return "has an empty user part (write sip:user@host or sip:host)"
		}
		hostport = rest[i+1:]
	}
	if i := strings.IndexAny(hostport, ";?"); i >= 0 {
		hostport = hostport[:i]
	}
	var host, port string
	hasPort := false
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return "has an IPv6 address without its closing ]"
		}
		host = hostport[1:end]
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() {
			return fmt.Sprintf("has a bad IPv6 address %q", host)
		}
		after := hostport[end+1:]
		if after != "" {
			if after[0] != ':' {
				return fmt.Sprintf("has %q after its host", after)
			}
			port, hasPort = after[1:], true
		}
	} else {
		host, port, hasPort = strings.Cut(hostport, ":")
		if host == "" {
			return "has no host"
		}
		if msg := checkHostname(host); msg != "" {
			return msg
		}
	}
	if hasPort {
		if port == "" {
			return "has an empty port"
		}
		if strings.Trim(port, "0123456789") != "" {
			return fmt.Sprintf("has port %q, which is not a number", port)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("has port %s, out of range (1-65535)", port)
		}
	}
	return ""
}

// checkHostname says what is wrong with a host name or IPv4 address, or "".
func checkHostname(host string) string {
	if strings.Trim(host, "0123456789.") == "" {
		if a, err := netip.ParseAddr(host); err != nil || !a.Is4() {
			return fmt.Sprintf("has a bad IPv4 address %q", host)
		}
		return ""
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		ok := label != "" && len(label) <= 63 && label[0] != '-' && label[len(label)-1] != '-'
		for _, r := range label {
			ok = ok && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-')
		}
		if !ok {
			return fmt.Sprintf("has a bad host name %q (letters, digits, - and dots)", host)
		}
	}
	return ""
}

// operator reports a flow without a usable operator intent, and an
// operator intent or escalation whose next does not lead to a person.
func (l *linter) operator() {
	f := l.f
	op := f.Global("operator")
	switch {
	case op == nil:
		also := ""
		if !l.anyTransfer() {
			also = " (and the flow has no transfer node to send them to)"
		}
		p, ok := f.Fields["globals"]
		if !ok {
			p = f.Pos
			l.errorf(p, "no operator intent (the flow has no globals:): callers cannot ask for a person%s; add globals: {operator: {next: NODE}} with NODE a transfer node", also)
		} else {
			l.errorf(p, "no operator intent in globals: callers cannot ask for a person%s; add operator: {next: NODE} with NODE a transfer node", also)
		}
	case op.Next.Node == "":
		l.errorf(op.Pos, "global \"operator\": no next, so saying \"operator\" goes nowhere; point it at a transfer node")
	case op.Key == "" && len(op.Phrases) == 0:
		l.errorf(op.Pos, "global \"operator\": no phrases and no key, so callers cannot use it")
	default:
		if d := l.distance(op.Next.Node); d > 0 {
			l.errorf(op.Next.Pos, "global \"operator\": next %q does not lead to a transfer node (%s); saying \"operator\" or pressing %s must hand the call to a person",
				op.Next.Node, describeDistance(d), cmp.Or(op.Key, "its key"))
		}
	}

	e := f.Escalation
	switch {
	case e.After == 0:
		l.warnf(l.posAt(e.Pos, "escalation", "after"), "escalation is off (after: 0): a caller who keeps failing loops instead of reaching a person")
	case e.Next.Node == "":
		// Defaults to the operator's next: the missing operator is reported.
	case op != nil && e.Next == op.Next:
		// The operator's next, checked above.
	default:
		if d := l.distance(e.Next.Node); d > 0 {
			l.errorf(e.Next.Pos, "escalation: next %q does not lead to a transfer node (%s); a caller who is struggling must reach a person",
				e.Next.Node, describeDistance(d))
		}
	}
}

// shadowed reports choices a global intent shadows. The engine checks
// global intents before a node's choices, so a choice with an intent's key
// is never taken by key, a phrase holding an intent's phrase never picks
// the choice, and a phrase inside an intent's phrase loses the callers who
// say the whole of it.
func (l *linter) shadowed() {
	for _, id := range l.f.Order {
		n := l.f.Nodes[id]
		if n.Kind != KindAsk || n.Ask == nil {
			continue
		}
		for ci, c := range n.Ask.Choices {
			w := fmt.Sprintf("node %q: choice %d", id, ci+1)
			for _, g := range l.f.Globals {
				if c.Key != "" && c.Key == g.Key {
					l.errorf(fieldPos(c.Fields, "key", c.Pos), "%s: key %q is the %s intent's key; global intents win at every node, so this choice is never taken by key",
						w, c.Key, g.Name)
				}
			}
			for pi, p := range c.Phrases {
				pp := l.phrasePos(c, p, "nodes", id, "ask", "choices", ci, "phrases", pi)
				for _, g := range l.f.Globals {
					if msg := shadowPhrase(p, g); msg != "" {
						l.errorf(pp, "%s: %s", w, msg)
					}
				}
			}
		}
	}
}

// shadowPhrase says how intent g shadows choice phrase p, or "".
func shadowPhrase(p string, g *Global) string {
	for _, q := range g.Phrases {
		switch {
		case phrase.Normalize(p) == phrase.Normalize(q):
			return fmt.Sprintf("phrase %q is the %s intent's; global intents win, so saying it never picks this choice", p, g.Name)
		case phrase.Contains(p, q):
			return fmt.Sprintf("phrase %q contains the %s intent's phrase %q; global intents win, so saying it never picks this choice", p, g.Name, q)
		}
	}
	for _, q := range g.Phrases {
		if phrase.Contains(q, p) {
			return fmt.Sprintf("phrase %q is part of the %s intent's phrase %q: a caller who says %q gets the %s intent, not this choice", p, g.Name, q, q, g.Name)
		}
	}
	return ""
}

// unreached is the distance of a node from which no person can be reached.
const unreached = 1 << 20

// humanDistance returns, for each node, the fewest caller actions that
// take a call from it to a transfer node. A caller action is one answer
// at an ask (a key entry or an utterance, matching or not), a silence
// that runs out an ask's timer, or a global intent; say, goto, set and
// webhook nodes move on by themselves. So:
//
//	transfer: 0                         (a person)
//	hangup:   unreached                 (the call ends)
//	goto, set: its next's
//	say:      min(next's, 1 + each global intent's next's)
//	webhook:  max(next's, on_error's)   (the caller does not choose)
//	ask:      min over 1 + each choice's next's, reprompt+1 + each retry
//	          then's, after + escalation next's, 1 + each global intent's
//
// It starts from unreached everywhere but transfer nodes and applies the
// rules until nothing changes (values only fall, so it stops); a loop
// therefore gives nothing for free. The result is the greatest fixed
// point: what a caller can count on whichever way webhooks answer.
func (l *linter) humanDistance() map[string]int {
	f := l.f
	d := make(map[string]int, len(f.Nodes))
	for id, n := range f.Nodes {
		d[id] = unreached
		if n.Kind == KindTransfer {
			d[id] = 0
		}
	}
	at := func(id string) int {
		if v, ok := d[id]; ok {
			return v
		}
		return unreached
	}
	for changed := true; changed; {
		changed = false
		for _, id := range f.Order {
			n := f.Nodes[id]
			if n.Kind == KindTransfer || n.Kind == KindHangup {
				continue
			}
			v := unreached
			for i, e := range l.exits(n) {
				x := min(at(e.to)+e.actions, unreached)
				switch {
				case n.Kind == KindWebhook && i > 0:
					v = max(v, x)
				default:
					v = min(v, x)
				}
			}
			if v < d[id] {
				d[id], changed = v, true
			}
		}
	}
	return d
}

// distance returns humanDistance's value for node id.
func (l *linter) distance(id string) int {
	if d, ok := l.dist[id]; ok {
		return d
	}
	return unreached
}

func describeDistance(d int) string {
	if d >= unreached {
		return "no transfer node can be reached from it"
	}
	if d == 1 {
		return "a person is 1 more caller action away"
	}
	return fmt.Sprintf("a person is %d more caller actions away", d)
}

// anyTransfer reports whether a transfer node is reachable from start.
func (l *linter) anyTransfer() bool {
	for id, n := range l.f.Nodes {
		if n.Kind == KindTransfer && l.reach[id] {
			return true
		}
	}
	return false
}

// humans reports the say and ask nodes, where a caller waits and can act,
// from which a person is more than two caller actions away (PRODUCT.md,
// rule 1). Goto, set and webhook nodes move on at once and hangup nodes
// end the call, so the nodes they lead to answer for them. A flow with no
// transfer node at all gets one finding, from operator, not one per node.
func (l *linter) humans() {
	if !l.anyTransfer() {
		return
	}
	for _, id := range l.f.Order {
		n := l.f.Nodes[id]
		if !l.reach[id] || (n.Kind != KindSay && n.Kind != KindAsk) {
			continue
		}
		switch d := l.distance(id); {
		case d >= unreached:
			l.errorf(n.Pos, "node %q: no person can be reached from here (no path leads to a transfer node); a person must be at most %d caller actions away", id, lintMaxHumanActions)
		case d > lintMaxHumanActions:
			l.errorf(n.Pos, "node %q: the nearest person is %d caller actions away; a person must be at most %d away", id, d, lintMaxHumanActions)
		}
	}
}

// posAt returns the position of the value at path in the flow file, or
// fallback.
func (l *linter) posAt(fallback Pos, path ...any) Pos {
	if n := l.yamlAt(path...); n != nil {
		return pos(n)
	}
	return fallback
}

// phrasePos returns the position of one phrase of choice c (text p, at
// path in the file), falling back to the choice's phrases field.
func (l *linter) phrasePos(c *Choice, p string, path ...any) Pos {
	if n := l.yamlAt(path...); n != nil && n.Kind == yaml.ScalarNode && n.Value == p {
		return pos(n)
	}
	return fieldPos(c.Fields, "phrases", c.Pos)
}

// yamlAt walks the flow file's YAML by mapping keys (strings) and list
// indexes (ints); a scalar stands for a one-item list, as in phrases. It
// returns nil when the path is not there.
func (l *linter) yamlAt(path ...any) *yaml.Node {
	n := l.doc
	for _, step := range path {
		if n == nil {
			return nil
		}
		n = resolve(n)
		switch s := step.(type) {
		case string:
			var val *yaml.Node
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == s {
						val = n.Content[i+1]
						break
					}
				}
			}
			n = val
		case int:
			switch {
			case n.Kind == yaml.SequenceNode && s < len(n.Content):
				n = n.Content[s]
			case n.Kind == yaml.ScalarNode && s == 0:
			default:
				n = nil
			}
		}
	}
	if n == nil {
		return nil
	}
	return resolve(n)
}

// fieldPos returns fields[name], or fallback when it is absent.
func fieldPos(fields map[string]Pos, name string, fallback Pos) Pos {
	if p, ok := fields[name]; ok {
		return p
	}
	return fallback
}
