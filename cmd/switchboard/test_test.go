package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// TestTestCommandOverSIP places every shipped scenario as a real SIP call
// to a real server (built with sphinx, on loopback, ephemeral ports),
// checking each against the server's call records.
func TestTestCommandOverSIP(t *testing.T) {
	if _, ok := backends["sphinx"]; !ok {
		t.Skip("built without the sphinx backend")
	}
	if testing.Short() {
		t.Skip("real-time calls take minutes")
	}
	udp, api := startServer(t)
	junit := filepath.Join(t.TempDir(), "sip.xml")
	var out, errOut bytes.Buffer
	start := time.Now()
	err := testCommand([]string{"--config", "../../configs/switchboard.yaml", "--target", "sip:ivr@" + udp, "--api", "http://" + api,
		"--parallel", "8", "--junit", junit, demoFlow, "../../testdata/calls"}, &out, &errOut)
	t.Logf("wall time %v\n%s%s", time.Since(start).Round(100*time.Millisecond), out.String(), errOut.String())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), " passed, 0 failed") {
		t.Errorf("summary missing")
	}
}

func TestTestCommandTargetFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	err := testCommand([]string{"--api", "http://127.0.0.1:1", demoFlow, "../../testdata/calls"}, &out, &errOut)
	if err == nil || err.Error() != "test: --api only with --target" {
		t.Errorf("error %v", err)
	}
	dir := writeScenarios(t, map[string]string{"wait.yaml": keysBilling})
	out.Reset()
	err = testCommand([]string{"--backend", "none", "--target", "sip:ivr@127.0.0.1:9", demoFlow, dir}, &out, &errOut)
	if err == nil || !strings.Contains(out.String(), "FAIL wait (no call)\n") ||
		!strings.Contains(out.String(), "wait steps need the server's call records: give --api") ||
		!strings.Contains(out.String(), "0 passed, 1 failed") {
		t.Errorf("error %v, output:\n%s", err, out.String())
	}
}

// startServer builds switchboard with sphinx and serves the demo flow on
// loopback; it returns the SIP UDP and HTTP addresses.
func startServer(t *testing.T) (udp, api string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "switchboard")
	build := exec.Command("go", "build", "-tags", "sphinx", "-o", bin, ".")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	flow, err := filepath.Abs(demoFlow)
	if err != nil {
		t.Fatal(err)
	}
	base := 20000 + 2*rand.IntN(15000)
	cfg := fmt.Sprintf(`sip:
  listen: [udp:127.0.0.1:0]
media:
  bind_address: 127.0.0.1
  rtp_ports: %d-%d
flows:
  demo: %s
default_flow: demo
http:
  listen: 127.0.0.1:0
log:
  format: json
`, base, base+400, flow)
	cfgPath := filepath.Join(dir, "switchboard.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan map[string]any, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) == nil && (ev["msg"] == "switchboard ready" || ev["msg"] == "http listening") {
				lines <- ev
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		<-done
		_ = cmd.Wait()
	})
	deadline := time.After(30 * time.Second)
	for udp == "" || api == "" {
		select {
		case ev := <-lines:
			if a, ok := ev["addr"].(string); ok && ev["msg"] == "http listening" {
				api = a
			}
			if l, ok := ev["listen"].(string); ok {
				for _, a := range strings.Split(l, ",") {
					if u, ok := strings.CutPrefix(a, "udp:"); ok {
						udp = u
					}
				}
			}
		case <-done:
			t.Fatal("server exited before it was ready")
		case <-deadline:
			t.Fatal("server not ready within 30s")
		}
	}
	return udp, api
}
