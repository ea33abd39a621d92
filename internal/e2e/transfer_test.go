package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// transferFlow writes a flow whose operator intent transfers to target,
// falling back to a goodbye when the transfer fails.
func transferFlow(t *testing.T, target string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "transfer.yaml")
	flow := `flow: transfer
start: menu
globals:
  operator: {next: agent}
nodes:
  menu:
    ask:
      prompt: "Say operator, or billing."
      timeout: 8s
      choices:
        - {key: "1", phrases: [billing], next: bye}
      no_input: {reprompt: 0, then: bye}
      no_match: {reprompt: 0, then: bye}
  agent:
    transfer:
      say: "Connecting you to a person."
      targets: ["` + target + `"]
      timeout: 3s
      fallback: {say: "Sorry, nobody can take your call right now.", next: bye}
  bye:
    hangup: {say: "Goodbye."}
`
	if err := os.WriteFile(path, []byte(flow), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// utterance synthesises what the caller says with the harness's say.sh,
// after lead of listening: a WAV and the raw PCMU file SIPp streams.
func utterance(t *testing.T, text string, lead time.Duration) (wav, ul string) {
	t.Helper()
	dir := t.TempDir()
	wav, ul = filepath.Join(dir, "say.wav"), filepath.Join(dir, "say.ul")
	out, err := exec.Command(filepath.Join(harness, "say.sh"), "-l", fmt.Sprint(lead.Seconds()), "-t", "20", "-u", ul, text, wav).CombinedOutput()
	if err != nil {
		t.Fatalf("say.sh: %v\n%s", err, out)
	}
	return wav, ul
}

// flowEvents returns the call's transfer log lines and its path.
func flowEvents(srv *server, id string) (transfers []map[string]any, path, outcome string) {
	for _, ev := range srv.eventsOf(id) {
		switch ev["msg"] {
		case "transfer":
			transfers = append(transfers, ev)
		case "flow ended":
			path, outcome = str(ev["path"]), str(ev["outcome"])
		}
	}
	return
}

// TestOperatorTransferWithSIPp: the caller says "operator"; SIPp receives
// a REFER to the configured target, answers 202 and NOTIFY 200, and the
// server hangs up (transferred).
func TestOperatorTransferWithSIPp(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverConfig{flowPath: transferFlow(t, "sip:operator@127.0.0.1:5999")})
	idle, _ := srv.goroutines(t)
	out := t.TempDir()
	wav, _ := utterance(t, "operator", 2*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if o, err := command(t, ctx, out, filepath.Join(harness, "ivr-call.sh"), "-a", wav, "-w", "0", "-T", "30000",
		"-e", `^<?sip:operator@127\.0\.0\.1:5999>?$`, "-o", out, "-u", "test", srv.udp); err != nil {
		t.Fatalf("ivr-call.sh: %v\n%s", err, o)
	}
	id := callID(t, out)
	if r := srv.endReason(t, id); r != "transferred" {
		t.Errorf("call ended by %q, want transferred", r)
	}
	transfers, path, outcome := flowEvents(srv, id)
	if outcome != "transferred" || len(transfers) != 1 || transfers[0]["outcome"] != "transferred" || !strings.HasSuffix(path, "menu > agent") {
		t.Errorf("outcome %q path %q transfers %v", outcome, path, transfers)
	}
	srv.waitIdle(t, idle)
	srv.stop(t)
}

// TestFailedTransferFallsBack: a NOTIFY 486 or 603, or no NOTIFY at all,
// leads to the fallback prompt and the flow's own goodbye.
func TestFailedTransferFallsBack(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, scenario, status string
		want                   string // transfer outcome logged
		code                   float64
	}{
		{"notify 486", "operator-fail.xml", "486 Busy Here", "failed", 486},
		{"notify 603", "operator-fail.xml", "603 Decline", "failed", 603},
		{"no notify", "operator-nonotify.xml", "", "timeout", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, serverConfig{flowPath: transferFlow(t, "sip:operator@127.0.0.1:5999")})
			idle, _ := srv.goroutines(t)
			out := t.TempDir()
			_, ul := utterance(t, "operator", 2*time.Second)
			args := []string{srv.udp, "-sf", filepath.Join(repo, "testdata/sipp", tc.scenario), "-s", "test",
				"-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", fmt.Sprint(freeUDPPort(t)), "-mp", fmt.Sprint(freeUDPPort(t)),
				"-key", "utterance", ul + ",1,0", "-recv_timeout", "30000", "-m", "1", "-nostdin",
				"-trace_logs", "-log_file", filepath.Join(out, "calls.log"), "-trace_err", "-error_file", filepath.Join(out, "errors.log")}
			if tc.status != "" {
				args = append(args, "-key", "notify_status", tc.status)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			if o, err := command(t, ctx, out, "sipp", args...); err != nil {
				errs, _ := os.ReadFile(filepath.Join(out, "errors.log"))
				t.Fatalf("sipp: %v\n%s\n%s", err, tail(o, 20), errs)
			}
			id := callID(t, out)
			if r := srv.endReason(t, id); r != "flow hung up" {
				t.Errorf("call ended by %q, want the flow's own hang-up after the fallback", r)
			}
			transfers, path, outcome := flowEvents(srv, id)
			if len(transfers) != 1 || transfers[0]["outcome"] != tc.want || transfers[0]["status"] != tc.code {
				t.Errorf("transfers %v, want one %s %v", transfers, tc.want, tc.code)
			}
			if outcome != "hangup" || !strings.HasSuffix(path, "menu > agent > bye") {
				t.Errorf("outcome %q path %q, want the fallback to bye", outcome, path)
			}
			var fellBack bool
			for _, ev := range srv.eventsOf(id) {
				fellBack = fellBack || ev["msg"] == "transfer failed, falling back"
			}
			if !fellBack {
				t.Error("no fallback logged")
			}
			srv.waitIdle(t, idle)
			srv.stop(t)
		})
	}
}

// TestBaresipFollowsTransfer: baresip says "operator", takes the REFER and
// calls the operator, a second user agent; the server sees the transfer
// succeed and leaves the call.
func TestBaresipFollowsTransfer(t *testing.T) {
	t.Parallel()
	opPort := freeUDPPort(t)
	target := fmt.Sprintf("sip:operator@127.0.0.1:%d", opPort)
	srv := startServer(t, serverConfig{flowPath: transferFlow(t, target)})
	idle, _ := srv.goroutines(t)
	opDir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	op := exec.CommandContext(ctx, filepath.Join(harness, "fake-ivr.sh"), "-O", "-l", fmt.Sprintf("127.0.0.1:%d", opPort), "-w", "4000", "-n", "1", "-o", opDir)
	op.Dir = opDir
	opOut := &strings.Builder{}
	op.Stdout, op.Stderr = opOut, opOut
	if err := op.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		op.Process.Kill()
		op.Wait()
	}()
	wav, _ := utterance(t, "operator", 0)
	out := t.TempDir()
	o, err := command(t, ctx, out, filepath.Join(harness, "softphone-call.sh"), "-w", "2", "-T", `^<?sip:operator@`, "-o", out,
		"sip:test@"+srv.udp, wav, "40")
	events, _ := os.ReadFile(filepath.Join(out, "events.log"))
	if err != nil {
		t.Fatalf("softphone-call.sh: %v\n%s\nevents:\n%s\noperator:\n%s", err, o, events, opOut)
	}
	if n := strings.Count(string(events), "ESTABLISHED"); n != 2 {
		t.Errorf("%d calls established, want the IVR and then the operator:\n%s", n, events)
	}
	ended := srv.waitEvent(t, 10*time.Second, func(ev map[string]any) bool { return ev["msg"] == "call ended" })
	if ended["reason"] != "transferred" {
		t.Errorf("call ended by %v, want transferred", ended["reason"])
	}
	srv.waitIdle(t, idle)
	srv.stop(t)
}

// TestOperatorByKeyWithSIPp: pressing 0 (RFC 4733) reaches the operator the
// same way.
func TestOperatorByKeyWithSIPp(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverConfig{flowPath: transferFlow(t, "sip:operator@127.0.0.1:5999")})
	idle, _ := srv.goroutines(t)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if o, err := command(t, ctx, out, filepath.Join(harness, "ivr-call.sh"), "-S", "dtmf", "-D", "0", "-w", "1500", "-T", "30000",
		"-e", `^<?sip:operator@127\.0\.0\.1:5999>?$`, "-o", out, "-u", "test", srv.udp); err != nil {
		t.Fatalf("ivr-call.sh: %v\n%s", err, o)
	}
	id := callID(t, out)
	if r := srv.endReason(t, id); r != "transferred" {
		t.Errorf("call ended by %q, want transferred", r)
	}
	srv.waitIdle(t, idle)
	srv.stop(t)
}
