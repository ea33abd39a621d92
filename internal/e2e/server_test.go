package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binary  string // the switchboard binary under test
	repo    string // repository root
	harness string // ../shared/harness
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	_, file, _, _ := runtime.Caller(0)
	repo = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	harness = filepath.Join(repo, "..", "shared", "harness")
	if _, err := os.Stat(filepath.Join(harness, "ivr-call.sh")); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: the SIP harness is missing: %v (clone ../shared beside the repository)\n", err)
		return 1
	}
	var missing []string
	for _, tool := range []string{"sipp", "baresip", "sox", "espeak-ng", "tshark", "text2pcap"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: missing tools %v: run `make test-deps` (or .ci/install-deps test)\n", missing)
		return 1
	}
	dir, err := os.MkdirTemp("", "switchboard-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "switchboard")
	build := exec.Command("go", "build", "-race", "-tags", "sphinx", "-o", binary, "./cmd/switchboard")
	build.Dir = repo
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build:", err)
		return 1
	}
	return m.Run()
}

// server is a switchboard process under test.
type server struct {
	t      *testing.T
	cmd    *exec.Cmd
	udp    string // SIP UDP address
	tcp    string // SIP TCP address
	http   string
	exited chan struct{}
	err    error // process exit status, valid after exited

	mu     sync.Mutex
	events []map[string]any // JSON log lines
	seen   chan struct{}    // closed and replaced on each new line
}

type serverConfig struct {
	flow     string // path of the flow file, relative to the repository
	flowPath string // or an absolute path
	extra    string // more YAML for the config
}

// startServer runs switchboard on loopback with ephemeral ports and waits
// for it to be ready.
func startServer(t *testing.T, sc serverConfig) *server {
	t.Helper()
	dir := t.TempDir()
	flow := filepath.Join(repo, sc.flow)
	if sc.flowPath != "" {
		flow = sc.flowPath
	}
	// Random RTP range: the allocator skips ports that are taken, so
	// parallel servers coexist.
	base := 20000 + 2*rand.IntN(15000)
	cfg := fmt.Sprintf(`sip:
  listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]
media:
  bind_address: 127.0.0.1
  rtp_ports: %d-%d
flows:
  test: %s
default_flow: test
http:
  listen: 127.0.0.1:0
log:
  level: debug
  format: json
%s`, base, base+200, flow, sc.extra)
	cfgPath := filepath.Join(dir, "switchboard.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "serve", "--config", cfgPath)
	cmd.Dir = repo
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, cmd: cmd, exited: make(chan struct{}), seen: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(io.TeeReader(stderr, logFile))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) != nil {
				ev = map[string]any{"msg": "unstructured", "text": sc.Text()}
			}
			s.mu.Lock()
			s.events = append(s.events, ev)
			close(s.seen)
			s.seen = make(chan struct{})
			s.mu.Unlock()
		}
		s.err = cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			data, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			t.Logf("server log:\n%s", tail(string(data), 60))
		}
	})
	ready := s.waitEvent(t, 30*time.Second, func(ev map[string]any) bool { return ev["msg"] == "switchboard ready" })
	for _, l := range strings.Split(str(ready["listen"]), ",") {
		if a, ok := strings.CutPrefix(l, "udp:"); ok {
			s.udp = a
		} else if a, ok := strings.CutPrefix(l, "tcp:"); ok {
			s.tcp = a
		}
	}
	httpEv := s.waitEvent(t, time.Second, func(ev map[string]any) bool { return ev["msg"] == "http listening" })
	s.http = str(httpEv["addr"])
	return s
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// waitEvent returns the first log line (past or future) that match accepts.
func (s *server) waitEvent(t *testing.T, d time.Duration, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for i := 0; ; {
		s.mu.Lock()
		for ; i < len(s.events); i++ {
			if match(s.events[i]) {
				ev := s.events[i]
				s.mu.Unlock()
				return ev
			}
		}
		seen := s.seen
		s.mu.Unlock()
		select {
		case <-seen:
		case <-s.exited:
			t.Fatalf("server exited (%v) while waiting for a log line", s.err)
		case <-deadline.C:
			t.Fatalf("no matching log line within %v", d)
		}
	}
}

// eventsOf returns the log lines of one call.
func (s *server) eventsOf(callID string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, ev := range s.events {
		if ev["call_id"] == callID {
			out = append(out, ev)
		}
	}
	return out
}

var noKeepAlive = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// metrics reads /metrics.
func (s *server) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	// No keep-alive: an idle connection would hold a goroutine on the
	// server and blur the goroutine count this reads.
	res, err := noKeepAlive.Get("http://" + s.http + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if name, v, ok := strings.Cut(line, " "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			out[name] = f
		}
	}
	return out
}

// goroutines counts the server's goroutines, leaving out the HTTP server's
// own (the one answering this very request, its connection reader), which
// come and go with the requests that read the count.
func (s *server) goroutines(t *testing.T) (int, string) {
	t.Helper()
	res, err := noKeepAlive.Get("http://" + s.http + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(res.Body)
	res.Body.Close()
	n := 0
	for _, block := range strings.Split(string(data), "\n\n") {
		var count int
		if _, err := fmt.Sscanf(block, "%d @", &count); err != nil || strings.Contains(block, "net/http.") {
			continue
		}
		n += count
	}
	return n, string(data)
}

// waitIdle waits until no call, no RTP port and no call goroutine is left:
// the goroutine count is back to what it was when the server was idle.
func (s *server) waitIdle(t *testing.T, idle int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := s.metrics(t)
		g, dump := s.goroutines(t)
		if m["switchboard_calls_active"] == 0 && m["switchboard_rtp_ports_in_use"] == 0 && g <= idle {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not idle after the calls: calls=%v ports=%v goroutines=%d (idle had %d)\n%s",
				m["switchboard_calls_active"], m["switchboard_rtp_ports_in_use"], g, idle, dump)
		}
		time.Sleep(50 * time.Millisecond) // polling counters that have no change notification
	}
}

// stop sends SIGTERM and expects a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(40 * time.Second):
		t.Fatal("server did not exit after SIGTERM")
	}
	if s.err != nil {
		t.Errorf("server exit: %v", s.err)
	}
}

// freeUDPPort asks the kernel for a port nobody uses right now.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// command runs a harness tool and returns its combined output.
func command(t *testing.T, ctx context.Context, dir string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}
