package ivr

import (
	"fmt"
	"regexp"
	"strings"
)

// Variables every call has, besides those set by set and webhook nodes.
const (
	VarCaller = "caller"  // the caller's number or user
	VarCalled = "called"  // the dialled number or user
	VarCallID = "call_id" // the SIP Call-ID
	VarHeard  = "heard"   // the last thing the caller said
)

var (
	templateRe = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)
	varNameRe  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// templateVars returns the variables a template names, or an error for a
// malformed one.
func templateVars(t string) ([]string, error) {
	var names []string
	for _, m := range templateRe.FindAllStringSubmatch(t, -1) {
		if !varNameRe.MatchString(m[1]) {
			return nil, fmt.Errorf("{{%s}}: a variable name is lower case letters, digits and _, starting with a letter", m[1])
		}
		names = append(names, m[1])
	}
	if rest := templateRe.ReplaceAllString(t, ""); strings.Contains(rest, "{{") || strings.Contains(rest, "}}") {
		return nil, fmt.Errorf("unbalanced {{ }} in %q", t)
	}
	return names, nil
}

// expand fills a template's {{variables}}; a variable never set is empty.
// escape, when not nil, quotes each value for where it goes (a URL, JSON).
func expand(t string, vars map[string]string, escape func(string) string) string {
	return templateRe.ReplaceAllStringFunc(t, func(m string) string {
		v := vars[templateRe.FindStringSubmatch(m)[1]]
		if escape != nil {
			v = escape(v)
		}
		return v
	})
}
