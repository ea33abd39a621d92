package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/switchboard-voice/switchboard/tts"
)

const (
	shortFlow = "testdata/flows/short.yaml"
	demoFlow  = "configs/flows/demo.yaml"
)

// silenceWAV writes seconds of silence as the caller's voice.
func silenceWAV(t *testing.T, seconds int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "silence.wav")
	if out, err := exec.Command("sox", "-n", "-r", "8000", "-c", "1", "-b", "16", path, "trim", "0", fmt.Sprint(seconds)).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	return path
}

// capture records UDP packets to a port on loopback with tshark until the
// returned function is called; it returns the capture file.
func capture(t *testing.T, port int) func() string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cap.pcapng")
	cmd := exec.Command("tshark", "-i", "lo", "-f", fmt.Sprintf("udp dst port %d", port), "-w", path)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// tshark says "Capturing on ..." once the capture runs.
	ready := make(chan error, 1)
	go func() {
		buf := make([]byte, 4096)
		var seen string
		for {
			n, err := stderr.Read(buf)
			seen += string(buf[:n])
			if strings.Contains(seen, "Capturing on") {
				ready <- nil
				_, _ = io.Copy(io.Discard, stderr)
				return
			}
			if err != nil {
				ready <- fmt.Errorf("tshark: %v: %s", err, seen)
				return
			}
		}
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("tshark did not start capturing (capturing needs root or CAP_NET_RAW)")
	}
	stopped := false
	stop := func() string {
		if !stopped {
			stopped = true
			cmd.Process.Signal(syscall.SIGINT)
			cmd.Wait()
		}
		return path
	}
	t.Cleanup(func() { stop() })
	return stop
}

// heardAudio extracts the RTP stream sent to port from a capture, checks
// its sequence numbers and timestamps, and returns it as 8 kHz PCM.
func heardAudio(t *testing.T, capPath string, port int) []int16 {
	t.Helper()
	wav := filepath.Join(t.TempDir(), "heard.wav")
	out, err := command(t, context.Background(), "", filepath.Join(harness, "rtp2wav.sh"), capPath, wav, fmt.Sprintf("udp.dstport==%d", port))
	if err != nil {
		t.Fatalf("rtp2wav: %v\n%s", err, out)
	}
	t.Logf("rtp2wav: %s", strings.TrimSpace(out))
	m := regexp.MustCompile(`packets=(\d+) payload_type=(\d+) ssrcs=(\d+) seq_gaps=(\d+) ts_mismatch=(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("rtp2wav printed no stream summary:\n%s", out)
	}
	if m[3] != "1" || m[4] != "0" || m[5] != "0" {
		t.Errorf("rtp stream: ssrcs=%s seq_gaps=%s ts_mismatch=%s, want 1 0 0", m[3], m[4], m[5])
	}
	pcm, err := tts.LoadFile(wav)
	if err != nil {
		t.Fatal(err)
	}
	return pcm
}

func callID(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "calls.log"))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		t.Fatalf("empty calls.log")
	}
	return f[0]
}

// endReason waits for the call's "call ended" line and returns its reason.
func (s *server) endReason(t *testing.T, id string) string {
	t.Helper()
	ev := s.waitEvent(t, 10*time.Second, func(ev map[string]any) bool { return ev["call_id"] == id && ev["msg"] == "call ended" })
	return str(ev["reason"])
}

// TestSIPpCallHearsPromptsAndIsHungUp: a SIPp caller that says nothing
// hears the disclosure as synthesised, the goodbye, and gets the IVR's BYE;
// the RTP it received is one continuous stream.
func TestSIPpCallHearsPromptsAndIsHungUp(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			srv := startServer(t, serverConfig{flow: shortFlow})
			idle, _ := srv.goroutines(t)
			mport := freeUDPPort(t)
			stop := capture(t, mport)
			out := t.TempDir()
			args := []string{"-S", "hangup", "-a", silenceWAV(t, 30), "-w", "0", "-T", "30000", "-M", fmt.Sprint(mport), "-o", out, "-u", "test"}
			if transport == "tcp" {
				args = append(args, "-x", "-t t1")
			}
			args = append(args, srv.udp)
			if transport == "tcp" {
				args[len(args)-1] = srv.tcp
			}
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			if o, err := command(t, ctx, out, filepath.Join(harness, "ivr-call.sh"), args...); err != nil {
				t.Fatalf("ivr-call.sh: %v\n%s", err, o)
			}
			id := callID(t, out)
			if r := srv.endReason(t, id); r != "flow hung up" {
				t.Errorf("call ended by %q, want the flow's hangup", r)
			}
			heard := heardAudio(t, stop(), mport)
			at := matchPrompt(t, heard, promptAudio(t, filepath.Join(repo, shortFlow), "disclosure"))
			if at > 300*time.Millisecond {
				t.Errorf("disclosure starts %v into the call's audio", at)
			}
			// The call took ~10 s: disclosure, menu, 2 s of no input, goodbye.
			if d := dur(len(heard)); d < 8*time.Second || d > 20*time.Second {
				t.Errorf("heard %v of audio", d)
			}
			srv.waitIdle(t, idle)
			srv.stop(t)
		})
	}
}

// TestSIPpKeypad: RFC 4733 digits from SIPp steer the demo flow.
func TestSIPpKeypad(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverConfig{flow: demoFlow})
	idle, _ := srv.goroutines(t)
	out := t.TempDir()
	pcap := filepath.Join(out, "keys.pcap")
	// 7 s of listening (into the greeting, which a key may interrupt),
	// then "1" for billing.
	if o, err := command(t, context.Background(), out, filepath.Join(harness, "dtmf2pcap.sh"), "-l", "7000", "1", pcap); err != nil {
		t.Fatalf("dtmf2pcap: %v\n%s", err, o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	o, err := command(t, ctx, out, "sipp", srv.udp, "-sf", filepath.Join(repo, "testdata/sipp/dtmf-hangup.xml"),
		"-s", "demo", "-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", fmt.Sprint(freeUDPPort(t)), "-mp", fmt.Sprint(freeUDPPort(t)),
		"-key", "dtmf_pcap", pcap, "-recv_timeout", "60000", "-m", "1", "-nostdin",
		"-trace_logs", "-log_file", filepath.Join(out, "calls.log"), "-trace_err", "-error_file", filepath.Join(out, "errors.log"))
	if err != nil {
		errs, _ := os.ReadFile(filepath.Join(out, "errors.log"))
		t.Fatalf("sipp: %v\n%s\n%s", err, tail(o, 20), errs)
	}
	id := callID(t, out)
	if r := srv.endReason(t, id); r != "flow hung up" {
		t.Errorf("call ended by %q, want the flow's hangup", r)
	}
	var keys []string
	var path string
	for _, ev := range srv.eventsOf(id) {
		if ev["msg"] == "dtmf" {
			keys = append(keys, str(ev["key"]))
		}
		if ev["msg"] == "flow ended" {
			path = str(ev["path"])
		}
	}
	if strings.Join(keys, "") != "1" {
		t.Errorf("keys received %q, want exactly one 1", keys)
	}
	if !strings.Contains(path, "billing > goodbye") {
		t.Errorf("flow path %q does not go through billing", path)
	}
	// The call's record, as operators read it.
	res, err := noKeepAlive.Get("http://" + srv.http + "/calls/" + url.PathEscape(id))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Path    []string `json:"path"`
		Outcome string   `json:"outcome"`
		Inputs  []struct {
			Kind, Digits string
		} `json:"inputs"`
	}
	json.NewDecoder(res.Body).Decode(&rec)
	res.Body.Close()
	if rec.Outcome != "hangup" || len(rec.Inputs) != 1 || rec.Inputs[0].Digits != "1" || !slices.Contains(rec.Path, "billing") {
		t.Errorf("call record %+v", rec)
	}
	srv.waitIdle(t, idle)
	srv.stop(t)
}

// TestBaresipCall: a real softphone calls, hears the disclosure, and is
// hung up by the flow.
func TestBaresipCall(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverConfig{flow: shortFlow})
	idle, _ := srv.goroutines(t)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	o, err := command(t, ctx, out, filepath.Join(harness, "softphone-call.sh"), "-w", "1", "-o", out,
		"sip:test@"+srv.udp, silenceWAV(t, 1), "40")
	if err != nil {
		t.Fatalf("softphone-call.sh: %v\n%s", err, o)
	}
	events, _ := os.ReadFile(filepath.Join(out, "events.log"))
	if !strings.Contains(string(events), "ESTABLISHED") || !regexp.MustCompile(`CLOSED .*(Connection reset by peer|BYE)`).Match(events) {
		t.Errorf("baresip events:\n%s", events)
	}
	if strings.Contains(string(events), "LOCAL_HANGUP") {
		t.Errorf("baresip hung up itself; the flow should have:\n%s", events)
	}
	heard, err := tts.LoadFile(filepath.Join(out, "received-1.wav"))
	if err != nil {
		t.Fatal(err)
	}
	matchPrompt(t, heard, promptAudio(t, filepath.Join(repo, shortFlow), "disclosure"))
	srv.waitIdle(t, idle)
	srv.stop(t)
}

// TestSIGTERMDrains: SIGTERM refuses new calls with 503, lets the live call
// go on for shutdown_grace, then hangs it up and exits 0.
func TestSIGTERMDrains(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverConfig{flow: demoFlow, extra: "shutdown_grace: 2s\n"})
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	done := make(chan error, 1)
	var sippOut string
	go func() {
		var err error
		sippOut, err = command(t, ctx, out, filepath.Join(harness, "ivr-call.sh"), "-S", "hangup", "-a", silenceWAV(t, 30), "-w", "0",
			"-T", "30000", "-o", out, "-u", "demo", srv.udp)
		done <- err
	}()
	srv.waitEvent(t, 30*time.Second, func(ev map[string]any) bool { return ev["msg"] == "call answered" })
	sent := time.Now()
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.waitEvent(t, 5*time.Second, func(ev map[string]any) bool { return strings.HasPrefix(str(ev["msg"]), "SIGTERM") })

	// A new call is refused while draining.
	conn, err := net.Dial("udp", srv.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	invite := strings.Join([]string{
		"INVITE sip:demo@" + srv.udp + " SIP/2.0",
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bKdrain1",
		"From: <sip:late@" + local + ">;tag=1",
		"To: <sip:demo@" + srv.udp + ">",
		"Call-ID: drain-test@" + local,
		"CSeq: 1 INVITE",
		"Contact: <sip:late@" + local + ">",
		"Max-Forwards: 70",
		"Content-Length: 0", "", ""}, "\r\n")
	conn.Write([]byte(invite))
	buf := make([]byte, 4096)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := conn.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "SIP/2.0 503") {
		t.Errorf("INVITE while draining: %v %q", err, buf[:n])
	}

	// The live call is hung up once the grace is over, and SIPp takes it.
	if err := <-done; err != nil {
		t.Errorf("ivr-call.sh: %v\n%s", err, sippOut)
	}
	if d := time.Since(sent); d < 2*time.Second {
		t.Errorf("call ended %v after SIGTERM, before the 2 s grace", d)
	}
	id := callID(t, out)
	if r := srv.endReason(t, id); r != "server shutdown" {
		t.Errorf("call ended by %q, want server shutdown", r)
	}
	select {
	case <-srv.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("server did not exit after the grace")
	}
	if srv.err != nil {
		t.Errorf("server exit: %v", srv.err)
	}
}

// callerWAV writes the caller's side: lead of line silence, a corpus
// utterance, then silence to keep the stream going.
func callerWAV(t *testing.T, lead time.Duration, utterance string, trail time.Duration) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "caller.wav")
	args := []string{
		"-n", "-r", "8000", "-c", "1", "-b", "16", filepath.Join(dir, "lead.wav"), "trim", "0", fmt.Sprint(lead.Seconds()),
	}
	if out, err := exec.Command("sox", args...).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	args = []string{"-n", "-r", "8000", "-c", "1", "-b", "16", filepath.Join(dir, "trail.wav"), "trim", "0", fmt.Sprint(trail.Seconds())}
	if out, err := exec.Command("sox", args...).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	utt := filepath.Join(repo, "testdata", "speech", utterance)
	// Format options after the inputs only: before one, sox would read
	// that (µ-law) file as if it were 16-bit.
	if out, err := exec.Command("sox", filepath.Join(dir, "lead.wav"), utt,
		filepath.Join(dir, "trail.wav"), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", path).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	return path
}

// TestSpeechBargeInOverSIP: a SIPp caller says "technical support" over a
// long greeting; the greeting stops, the words are recognised and the call
// goes to support.
func TestSpeechBargeInOverSIP(t *testing.T) {
	t.Parallel()
	const flow = "testdata/flows/bargein.yaml"
	srv := startServer(t, serverConfig{flow: flow})
	idle, _ := srv.goroutines(t)
	mport := freeUDPPort(t)
	stop := capture(t, mport)
	out := t.TempDir()
	caller := callerWAV(t, 2*time.Second, "menu-technical-support-enus-160-clean.wav", 20*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if o, err := command(t, ctx, out, filepath.Join(harness, "ivr-call.sh"), "-S", "hangup", "-a", caller, "-w", "0",
		"-T", "30000", "-M", fmt.Sprint(mport), "-o", out, "-u", "test", srv.udp); err != nil {
		t.Fatalf("ivr-call.sh: %v\n%s", err, o)
	}
	id := callID(t, out)
	if r := srv.endReason(t, id); r != "flow hung up" {
		t.Errorf("call ended by %q", r)
	}
	var bargedIn, heard bool
	var path string
	for _, ev := range srv.eventsOf(id) {
		switch ev["msg"] {
		case "barge-in":
			bargedIn = bargedIn || ev["by"] == "speech"
		case "speech":
			heard = heard || strings.Contains(str(ev["text"]), "technical support")
			t.Logf("heard %q confidence %v barged_in %v endpoint_ms %v", ev["text"], ev["confidence"], ev["barged_in"], ev["endpoint_ms"])
		case "flow ended":
			path = str(ev["path"])
		}
	}
	if !bargedIn || !heard {
		t.Errorf("barge-in %v, technical support heard %v", bargedIn, heard)
	}
	if !strings.Contains(path, "menu > support") {
		t.Errorf("path %q does not reach support", path)
	}
	// What the caller heard: the greeting, cut short soon after they
	// started speaking (2.5 s into the call: 2 s lead + the file's 0.5 s).
	heardAudio := heardAudio(t, stop(), mport)
	full := promptAudio(t, filepath.Join(repo, flow), "greeting")
	greetingEnd := stopPoint(heardAudio, full)
	if greetingEnd >= dur(len(full)) {
		t.Errorf("the greeting played for %v, in full (%v)", greetingEnd, dur(len(full)))
	}
	if greetingEnd > 2500*time.Millisecond+400*time.Millisecond {
		t.Errorf("greeting stopped %v into the call, more than 400 ms after the caller started at 2.5 s", greetingEnd)
	}
	t.Logf("greeting stopped %v into the call (caller started at 2.5 s; full greeting %v)", greetingEnd, dur(len(full)))
	// Latency figure: the caller's speech ends at 2 s of lead plus the
	// manifest's end of speech; the next prompt is the first sound after
	// the greeting stopped.
	if next := nextSound(heardAudio, greetingEnd); next > 0 {
		t.Logf("end of caller speech -> next prompt's first audio: %v", next-(2*time.Second+speechEnd(t, "menu-technical-support-enus-160-clean.wav")))
	}
	srv.waitIdle(t, idle)
	srv.stop(t)
}

// nextSound returns where sound starts again after a quiet stretch that
// begins at from (0 when it does not).
func nextSound(pcm []int16, from time.Duration) time.Duration {
	frames := envelope(pcm)
	for i := int(from / (20 * time.Millisecond)); i < len(frames); i++ {
		if frames[i] > 0.01 {
			return time.Duration(i) * 20 * time.Millisecond
		}
	}
	return 0
}

// speechEnd reads a corpus file's end of speech from the manifest.
func speechEnd(t *testing.T, file string) time.Duration {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repo, "testdata", "speech", "manifest.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var all []struct {
		File   string   `yaml:"file"`
		Speech [][2]int `yaml:"speech"`
	}
	if err := yaml.Unmarshal(data, &all); err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.File == file && len(s.Speech) > 0 {
			return time.Duration(s.Speech[len(s.Speech)-1][1]) * time.Millisecond
		}
	}
	t.Fatalf("%s not in the manifest", file)
	return 0
}

// stopPoint returns where heard, which starts with prompt, stops following
// it: the first of three frames in a row where the prompt has sound and
// heard has none.
func stopPoint(heard, prompt []int16) time.Duration {
	h, p := envelope(heard), envelope(prompt)
	run := 0
	for i := range min(len(h), len(p)) {
		if p[i] > 0.01 && h[i] < 0.002 {
			run++
			if run == 3 {
				return time.Duration(i-2) * 20 * time.Millisecond
			}
		} else {
			run = 0
		}
	}
	return dur(len(prompt))
}
