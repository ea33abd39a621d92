// Command switchboard is the Switchboard SIP/IVR voice server. It only wires
// the packages together: read the config, render the flows' prompts, start
// the RTP clock and the SIP listeners, and route each call to its flow.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard-voice/switchboard/internal/config"
	"github.com/switchboard-voice/switchboard/internal/metrics"
	"github.com/switchboard-voice/switchboard/internal/records"
	"github.com/switchboard-voice/switchboard/ivr"
	"github.com/switchboard-voice/switchboard/media"
	"github.com/switchboard-voice/switchboard/sip"
	"github.com/switchboard-voice/switchboard/tts"
)

const usage = `usage: switchboard <command> [flags]

commands:
  serve       answer calls and run flows (switchboard serve --config configs/switchboard.yaml)
  lint        check flows: switchboard lint [--strict] configs/flows/*.yaml
  test        replay scripted calls against a flow: switchboard test [--junit F] FLOW SCENARIO|DIR...
  transcribe  print what the speech backend hears in audio files (switchboard transcribe FILE.wav)
  version     print the version

Run "switchboard <command> -h" for a command's flags.
`

var version = "dev"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:], os.Stderr)
	case "transcribe":
		err = transcribe(os.Args[2:], os.Stdout, os.Stderr)
	case "lint":
		err = lintCommand(os.Args[2:], os.Stdout, os.Stderr)
	case "test":
		err = testCommand(os.Args[2:], os.Stdout, os.Stderr)
	case "version", "--version", "-v":
		fmt.Println("switchboard", version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "switchboard: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		os.Exit(1)
	}
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func serve(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "config file (default configs/switchboard.yaml when it exists)")
	var listen listFlag
	fs.Var(&listen, "listen", "SIP listener transport:host:port, e.g. udp:127.0.0.1:5062 (repeatable; replaces sip.listen)")
	logLevel := fs.String("log-level", "", "debug, info, warn or error (overrides log.level)")
	httpAddr := fs.String("http", "", "host:port for /metrics, /healthz and /debug/pprof (overrides http.listen)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if len(listen) > 0 {
		for _, l := range listen {
			if _, _, err := config.ParseListen(l); err != nil {
				return fmt.Errorf("--listen %w", err)
			}
		}
		cfg.SIP.Listen = listen
	}
	if *httpAddr != "" {
		cfg.HTTP.Listen = *httpAddr
	}
	if *logLevel != "" {
		cfg.Log.Level = *logLevel
	}
	log, err := newLogger(cfg.Log, stderr)
	if err != nil {
		return err
	}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()

	prompts := tts.NewCache(&tts.Espeak{Voice: cfg.TTS.Voice, Speed: cfg.TTS.Speed})
	flows := make(map[string]*ivr.Flow)
	for _, name := range cfg.FlowNames() {
		path := cfg.FlowPath(name)
		f, err := ivr.Load(path)
		if err != nil {
			return err
		}
		// A flow with lint errors (a node with no way to a person, a loop
		// with no way out...) is refused: callers would be stuck in it.
		var lintErrs []string
		for _, fd := range ivr.Lint(f) {
			if fd.Severity == ivr.SeverityError {
				lintErrs = append(lintErrs, fd.String())
			} else {
				log.Warn("flow lint", "finding", fd.String())
			}
		}
		if len(lintErrs) > 0 {
			return fmt.Errorf("flow %s has lint errors (switchboard lint %s):\n%s", name, path, strings.Join(lintErrs, "\n"))
		}
		start := time.Now()
		if err := f.Prepare(ctx, prompts); err != nil {
			return err
		}
		log.Info("flow loaded", "flow", name, "path", path, "prompts_rendered_in", time.Since(start).Round(time.Millisecond).String())
		flows[name] = f
	}

	asrBackend, err := newRecognizer(cfg.ASR, log)
	if err != nil {
		return err
	}
	if asrBackend.closer != nil {
		defer asrBackend.closer.Close()
	}
	log.Info("speech recognition", "backend", cfg.ASR.Backend, "language", cfg.ASR.Language)

	ports, err := media.NewPorts(cfg.Media.PortMin, cfg.Media.PortMax)
	if err != nil {
		return err
	}
	clock := media.NewClock()
	clockDone := make(chan struct{})
	go func() {
		defer close(clockDone)
		clock.Run(ctx)
	}()
	defer func() {
		stop()
		<-clockDone
	}()

	calls := &records.Store{}
	var listeners []sip.Listener
	for _, l := range cfg.SIP.Listen {
		tr, ap, _ := config.ParseListen(l)
		listeners = append(listeners, sip.Listener{Transport: tr, Addr: ap})
	}
	var contact netip.Addr
	if cfg.SIP.PublicAddress != "" {
		if contact, err = netip.ParseAddr(cfg.SIP.PublicAddress); err != nil {
			return fmt.Errorf("%s: sip.public_address: %q is not an IP address", cfg.Path, cfg.SIP.PublicAddress)
		}
	}
	srv, err := sip.NewServer(sip.Options{
		Listen:         listeners,
		ContactAddress: contact,
		MediaAddress:   cfg.Media.Public,
		MediaBind:      cfg.Media.Bind,
		Ports:          ports,
		Clock:          clock,
		MediaTimeout:   cfg.Media.Timeout.D(),
		UserAgent:      cfg.SIP.UserAgent,
		MaxCalls:       cfg.SIP.MaxCalls,
		Ring:           cfg.SIP.Ring.D(),
		Recognizer:     asrBackend.rec,
		Logger:         log,
		Route: func(info ivr.Info) (sip.Handler, bool) {
			name, ok := cfg.RouteFlow(info.Called)
			if !ok {
				return nil, false
			}
			flow := flows[name]
			return func(ctx context.Context, c *sip.Call) {
				id := calls.Begin(c.Info(), name)
				res := ivr.NewEngine(flow, c.Logger().With("flow", name)).
					OnNode(func(node string) { calls.Node(id, node) }).
					Run(ctx, c)
				calls.Finish(id, res)
			}, true
		},
	})
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	if cfg.HTTP.Listen != "" {
		reg := metrics.New()
		reg.Gauge("switchboard_calls_active", "Calls in progress.", func() float64 { return float64(srv.ActiveCalls()) })
		reg.Counter("switchboard_calls_total", "Calls taken since start.", func() float64 { return float64(srv.TotalCalls()) })
		reg.Gauge("switchboard_rtp_ports_in_use", "RTP ports held by calls.", func() float64 { return float64(ports.InUse()) })
		reg.Gauge("switchboard_rtp_send_interval_p99_seconds", "99th percentile of the interval between RTP packets of a stream.", func() float64 { return clock.Stats().P99.Seconds() })
		for name, fn := range asrBackend.gauges {
			if name == "switchboard_asr_utterances" {
				reg.Counter(name, gaugeHelp[name], fn)
			} else {
				reg.Gauge(name, gaugeHelp[name], fn)
			}
		}
		reg.Handle("/calls", calls)
		reg.Handle("/calls/", calls)
		reg.Gauge("switchboard_rtp_send_interval_max_seconds", "Longest interval between RTP packets of a stream.", func() float64 { return clock.Stats().Max.Seconds() })
		addr, httpDone, err := reg.Serve(ctx, cfg.HTTP.Listen)
		if err != nil {
			srv.Close()
			return err
		}
		defer func() { stop(); <-httpDone }()
		log.Info("http listening", "addr", addr.String())
	}
	var addrs []string
	for _, l := range srv.Addrs() {
		addrs = append(addrs, l.String())
	}
	log.Info("switchboard ready", "listen", strings.Join(addrs, ","), "rtp_ports", cfg.Media.RTPPorts, "flows", strings.Join(cfg.FlowNames(), ","))

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	sig := <-sigs
	switch sig {
	case syscall.SIGTERM:
		grace := cfg.ShutdownGrace.D()
		// Refuse new calls before saying so: an INVITE that arrives after
		// this line is logged must get 503.
		srv.Drain()
		log.Info("SIGTERM: refusing new calls, letting live calls finish", "grace", grace.String(), "calls", srv.ActiveCalls())
		gctx, cancel := context.WithTimeout(ctx, grace)
		go func() {
			// A second signal cuts the grace short.
			select {
			case <-sigs:
				cancel()
			case <-gctx.Done():
			}
		}()
		srv.Shutdown(gctx)
		cancel()
	default:
		log.Info("SIGINT: hanging up every call now", "calls", srv.ActiveCalls())
		srv.Close()
	}
	log.Info("switchboard stopped")
	return nil
}

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		const def = "configs/switchboard.yaml"
		if _, err := os.Stat(def); err == nil {
			path = def
		} else {
			return config.Default(), nil
		}
	}
	return config.Load(path)
}

func newLogger(c config.Log, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		return nil, errors.New("log level must be debug, info, warn or error")
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}
