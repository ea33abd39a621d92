package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const demoFlow = "../../configs/flows/demo.yaml"

// writeScenarios writes scenario files into a new directory.
func writeScenarios(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const keysBilling = `name: billing by keys
steps:
  - wait: {node: menu, listening: true}
  - dtmf: "1"
expect:
  nodes: [disclosure, greeting, menu, billing, goodbye]
  outcome: hangup
`

func TestTestCommandPasses(t *testing.T) {
	dir := writeScenarios(t, map[string]string{"billing.yaml": keysBilling, "notes.txt": "not a scenario"})
	var out, errOut bytes.Buffer
	err := testCommand([]string{"--backend", "none", demoFlow, dir}, &out, &errOut)
	if err != nil {
		t.Fatalf("%v\n%s%s", err, out.String(), errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "PASS billing (5 nodes, ") || lines[1] != "1 passed, 0 failed" {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestTestCommandFails(t *testing.T) {
	dir := writeScenarios(t, map[string]string{
		"a-billing.yaml": keysBilling,
		"b-wrong.yaml": `name: expects billing, presses 3
steps:
  - wait: {node: menu, listening: true}
  - dtmf: "3"
expect:
  nodes: [disclosure, greeting, menu, billing, goodbye]
`,
		"c-broken.yaml": "steps:\n  - shout: hello\nexpect: {}\n",
	})
	junit := filepath.Join(t.TempDir(), "report.xml")
	var out, errOut bytes.Buffer
	err := testCommand([]string{"--backend", "none", "--junit", junit, "-v", demoFlow, dir}, &out, &errOut)
	if err == nil || err.Error() != "test: 2 of 3 scenarios failed" {
		t.Errorf("error %v, want 2 of 3 failed", err)
	}
	got := out.String()
	for _, want := range []string{
		"PASS a-billing (5 nodes, ",
		"FAIL b-wrong (5 nodes, ",
		"    nodes: want disclosure > greeting > menu > billing > goodbye\n" +
			"            got disclosure > greeting > menu > sales > goodbye\n" +
			"                                               ^ node 4: want billing, got sales\n",
		"FAIL c-broken\n    " + filepath.Join(dir, "c-broken.yaml") + `:2: unknown step "shout"`,
		"    path: disclosure > greeting > menu > sales > goodbye (hangup)\n",
		"    | level=INFO msg=dtmf call_id=replay-expects-billing,-presses-3 key=3 t=",
		"1 passed, 2 failed\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}

	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var r junitSuites
	if err := xml.Unmarshal(b, &r); err != nil {
		t.Fatalf("junit: %v\n%s", err, b)
	}
	if len(r.Suites) != 1 {
		t.Fatalf("junit: %d suites", len(r.Suites))
	}
	s := r.Suites[0]
	if s.Tests != 3 || s.Failures != 2 || len(s.Cases) != 3 {
		t.Fatalf("junit suite: tests %d failures %d cases %d", s.Tests, s.Failures, len(s.Cases))
	}
	if c := s.Cases[0]; c.Name != "a-billing: billing by keys" || c.Class != "demo" || c.Failure != nil || !strings.Contains(c.Out, "flow ended") {
		t.Errorf("junit case 0: %+v", c)
	}
	if c := s.Cases[1]; c.Failure == nil || !strings.HasPrefix(c.Failure.Message, "nodes: want disclosure") ||
		!strings.Contains(c.Failure.Text, "^ node 4: want billing, got sales") {
		t.Errorf("junit case 1: %+v", c)
	}
	if c := s.Cases[2]; c.Name != "c-broken" || c.Failure == nil || !strings.Contains(c.Failure.Message, `unknown step "shout"`) {
		t.Errorf("junit case 2: %+v", c)
	}
}

func TestTestCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{demoFlow},
		{"--backend", "none", demoFlow, "no-such-dir"},
		{"--backend", "none", "no-such-flow.yaml", "../../testdata/calls"},
		{"--backend", "none", demoFlow, t.TempDir()},
	} {
		var out, errOut bytes.Buffer
		if err := testCommand(args, &out, &errOut); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

// TestTestCommandCalls runs the shipped scenarios as CI does, with the
// configured speech backend when this binary has it (build tag sphinx).
func TestTestCommandCalls(t *testing.T) {
	if _, ok := backends["sphinx"]; !ok {
		t.Skip("built without the sphinx backend")
	}
	junit := filepath.Join(t.TempDir(), "calls.xml")
	var out, errOut bytes.Buffer
	err := testCommand([]string{"--config", "../../configs/switchboard.yaml", "--junit", junit, demoFlow, "../../testdata/calls"}, &out, &errOut)
	t.Log("\n" + out.String() + errOut.String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(junit); err != nil {
		t.Error(err)
	}
}
