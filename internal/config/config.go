// Package config reads switchboard.yaml: listeners, media addresses and
// ports, flows and number routes, speech settings and limits. Every field's
// default is written where it is declared; Load fills the defaults, rejects
// contradictions and names the file, line and field of anything wrong.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole server configuration.
type Config struct {
	SIP   SIP   `yaml:"sip"`
	Media Media `yaml:"media"`
	TTS   TTS   `yaml:"tts"`
	Log   Log   `yaml:"log"`
	HTTP  HTTP  `yaml:"http"`
	ASR   ASR   `yaml:"asr"`

	// Flows names the flow files the server can run, path relative to the
	// config file. Default: {"demo": "flows/demo.yaml"}.
	Flows map[string]string `yaml:"flows"`
	// DefaultFlow runs calls that no route matches. Default: "demo" when
	// there is a flow of that name, or the only flow there is.
	DefaultFlow string `yaml:"default_flow"`
	// Routes send calls to flows by the dialled number: the user part of the
	// Request-URI, or of the To header when the Request-URI has none. First
	// match wins.
	Routes []Route `yaml:"routes"`

	// ShutdownGrace is how long SIGTERM lets live calls finish before they
	// are hung up. Default 30s.
	ShutdownGrace Duration `yaml:"shutdown_grace"`

	// Path is the file the configuration was read from ("" for defaults).
	Path string `yaml:"-"`
}

// SIP configures the SIP user agent.
type SIP struct {
	// Listen is a list of "transport:host:port" (transport udp or tcp).
	// Default ["udp:0.0.0.0:5060", "tcp:0.0.0.0:5060"].
	Listen []string `yaml:"listen"`
	// PublicAddress is put in Contact headers instead of the local address
	// (NAT). Default: media.public_address, else the local address.
	PublicAddress string `yaml:"public_address"`
	// UserAgent is sent in User-Agent/Server headers. Default "Switchboard".
	UserAgent string `yaml:"user_agent"`
	// MaxCalls caps simultaneous calls; more are refused with 503.
	// Default 1000; 0 means the default.
	MaxCalls int `yaml:"max_calls"`
	// Ring sends 180 Ringing and lets the call ring this long before
	// answering. Default 0s: answer at once.
	Ring Duration `yaml:"ring"`
}

// Media configures RTP.
type Media struct {
	// PublicAddress is advertised in SDP c=/o= instead of the local address,
	// for a server behind NAT. Default: none.
	PublicAddress string `yaml:"public_address"`
	// BindAddress is where RTP sockets are bound. Default "0.0.0.0".
	BindAddress string `yaml:"bind_address"`
	// RTPPorts is the RTP port range, "min-max". Default "10000-20000".
	RTPPorts string `yaml:"rtp_ports"`
	// Timeout hangs a call up when no RTP arrives for this long. Default 30s.
	Timeout Duration `yaml:"timeout"`

	// Parsed forms, filled by Load.
	PortMin, PortMax int        `yaml:"-"`
	Public           netip.Addr `yaml:"-"`
	Bind             netip.Addr `yaml:"-"`
}

// TTS configures speech synthesis.
type TTS struct {
	// Voice is the espeak-ng voice. Default "en-us".
	Voice string `yaml:"voice"`
	// Speed is in words per minute; slow enough for elderly callers.
	// Default 150.
	Speed int `yaml:"speed"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is text or json. Default text.
	Format string `yaml:"format"`
}

// ASR configures speech recognition.
type ASR struct {
	// Backend is sphinx, whisper or none (keys only). Default sphinx. The
	// backend must be compiled in (build tags sphinx, whisper).
	Backend string `yaml:"backend"`
	// Language is the callers' language ("en", "ru", or "auto" where the
	// backend detects it); a flow's language: overrides it. Default "en".
	Language string        `yaml:"language"`
	Sphinx   SphinxConfig  `yaml:"sphinx"`
	Whisper  WhisperConfig `yaml:"whisper"`
}

// SphinxConfig configures the pocketsphinx backend.
type SphinxConfig struct {
	// ModelDir is the acoustic model. Default
	// /usr/share/pocketsphinx/model/en-us/en-us (Debian pocketsphinx-en-us).
	ModelDir string `yaml:"model_dir"`
	// Dict is the pronunciation dictionary. Default
	// /usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict.
	Dict string `yaml:"dict"`
	// Decoders bounds utterances recognised at once (each holds a decoder).
	// Default 2 per CPU.
	Decoders int `yaml:"decoders"`
}

// WhisperConfig configures the whisper.cpp backend.
type WhisperConfig struct {
	// Model is a ggml model file (see the README). Required for whisper.
	Model string `yaml:"model"`
	// Threads per decode. Default min(4, CPUs).
	Threads int `yaml:"threads"`
	// States bounds decodes at once (each holds a decoding state). Default
	// CPUs / threads.
	States int `yaml:"states"`
}

// HTTP configures the status listener.
type HTTP struct {
	// Listen is host:port for /metrics, /healthz and /debug/pprof.
	// Default "" (off).
	Listen string `yaml:"listen"`
}

// Route sends calls for a number to a flow.
type Route struct {
	// Number is matched against the dialled user/number: exact, or a prefix
	// when it ends in "*" ("*" alone matches everything).
	Number string `yaml:"number"`
	// Flow is a key of Config.Flows.
	Flow string `yaml:"flow"`
	Line int    `yaml:"-"`
}

// Match reports whether the route takes calls to number.
func (r Route) Match(number string) bool {
	if p, ok := strings.CutSuffix(r.Number, "*"); ok {
		return strings.HasPrefix(number, p)
	}
	return r.Number == number
}

// Duration is a time.Duration written as "30s", "500ms" or "1m".
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return &fieldError{line: n.Line, msg: fmt.Sprintf("%q is not a duration (write e.g. 30s, 500ms)", n.Value)}
	}
	*d = Duration(v)
	return nil
}

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

type fieldError struct {
	line int
	msg  string
}

func (e *fieldError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// Default returns the configuration used when no file is given.
func Default() *Config {
	c := &Config{}
	if err := c.init(nil); err != nil {
		panic(err) // defaults are valid by construction
	}
	return c
}

// Load reads and validates a config file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

var unknownField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type config\.(\w+)`)

// Parse reads config from data; path is used in messages and to resolve
// flow paths.
func Parse(path string, data []byte) (*Config, error) {
	c := &Config{Path: path}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, syntaxError(path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, decodeError(path, err)
	}
	if err := c.init(&root); err != nil {
		return nil, err
	}
	return c, nil
}

func decodeError(path string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var msgs []string
		for _, e := range te.Errors {
			if m := unknownField.FindStringSubmatch(e); m != nil {
				section := strings.ToLower(m[3])
				if section == "config" {
					e = fmt.Sprintf("line %s: unknown field %q", m[1], m[2])
				} else {
					e = fmt.Sprintf("line %s: unknown field %q in %s", m[1], m[2], section)
				}
			}
			msgs = append(msgs, path+":"+strings.TrimPrefix(e, "line "))
		}
		return errors.New(strings.Join(msgs, "\n"))
	}
	var fe *fieldError
	if errors.As(err, &fe) {
		return fmt.Errorf("%s:%d: %s", path, fe.line, fe.msg)
	}
	return syntaxError(path, err)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// syntaxError rewrites yaml's "yaml: line N: msg" as "path:N: msg".
func syntaxError(path string, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s: %s", path, m[1], msg[len(m[0]):])
	}
	return fmt.Errorf("%s: %s", path, strings.TrimPrefix(msg, "yaml: "))
}

// init fills defaults and validates. root locates fields for messages; it is
// nil for the built-in defaults.
func (c *Config) init(root *yaml.Node) error {
	var errs []error
	bad := func(field string, format string, args ...any) {
		line := lineOf(root, strings.Split(field, ".")...)
		msg := fmt.Sprintf(format, args...)
		if c.Path == "" {
			errs = append(errs, fmt.Errorf("config: %s: %s", field, msg))
			return
		}
		errs = append(errs, fmt.Errorf("%s:%d: %s: %s", c.Path, line, field, msg))
	}

	if len(c.SIP.Listen) == 0 {
		c.SIP.Listen = []string{"udp:0.0.0.0:5060", "tcp:0.0.0.0:5060"}
	}
	for _, l := range c.SIP.Listen {
		if _, _, err := ParseListen(l); err != nil {
			bad("sip.listen", "%v", err)
		}
	}
	if c.SIP.UserAgent == "" {
		c.SIP.UserAgent = "Switchboard"
	}
	if c.SIP.MaxCalls < 0 {
		bad("sip.max_calls", "must not be negative")
	}
	if c.SIP.MaxCalls == 0 {
		c.SIP.MaxCalls = 1000
	}
	if c.SIP.Ring.D() > time.Minute {
		bad("sip.ring", "%v is longer than a minute", c.SIP.Ring.D())
	}

	if c.Media.PublicAddress != "" {
		a, err := netip.ParseAddr(c.Media.PublicAddress)
		if err != nil {
			bad("media.public_address", "%q is not an IP address", c.Media.PublicAddress)
		}
		c.Media.Public = a
	}
	if c.SIP.PublicAddress == "" {
		c.SIP.PublicAddress = c.Media.PublicAddress
	}
	if c.Media.BindAddress == "" {
		c.Media.BindAddress = "0.0.0.0"
	}
	if a, err := netip.ParseAddr(c.Media.BindAddress); err != nil {
		bad("media.bind_address", "%q is not an IP address", c.Media.BindAddress)
	} else {
		c.Media.Bind = a
	}
	if c.Media.RTPPorts == "" {
		c.Media.RTPPorts = "10000-20000"
	}
	if lo, hi, err := parseRange(c.Media.RTPPorts); err != nil {
		bad("media.rtp_ports", "%v", err)
	} else {
		c.Media.PortMin, c.Media.PortMax = lo, hi
	}
	if c.Media.Timeout == 0 {
		c.Media.Timeout = Duration(30 * time.Second)
	}

	if c.TTS.Voice == "" {
		c.TTS.Voice = "en-us"
	}
	if c.TTS.Speed == 0 {
		c.TTS.Speed = 150
	}
	if c.TTS.Speed < 80 || c.TTS.Speed > 450 {
		bad("tts.speed", "%d words per minute is outside 80-450", c.TTS.Speed)
	}

	switch c.Log.Level {
	case "":
		c.Log.Level = "info"
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "":
		c.Log.Format = "text"
	case "text", "json":
	default:
		bad("log.format", "%q is not text or json", c.Log.Format)
	}

	switch c.ASR.Backend {
	case "":
		c.ASR.Backend = "sphinx"
	case "sphinx", "whisper", "none":
	default:
		bad("asr.backend", "%q is not sphinx, whisper or none", c.ASR.Backend)
	}
	if c.ASR.Language == "" {
		c.ASR.Language = "en"
	}
	if c.ASR.Backend == "whisper" && c.ASR.Whisper.Model == "" {
		bad("asr.whisper.model", "the whisper backend needs a model file (see the README, \"Speech recognition: whisper\")")
	}
	if c.ASR.Whisper.Model != "" && !filepath.IsAbs(c.ASR.Whisper.Model) && c.Path != "" {
		c.ASR.Whisper.Model = filepath.Join(filepath.Dir(c.Path), c.ASR.Whisper.Model)
	}

	if len(c.Flows) == 0 {
		c.Flows = map[string]string{"demo": "flows/demo.yaml"}
	}
	if c.DefaultFlow == "" {
		if _, ok := c.Flows["demo"]; ok {
			c.DefaultFlow = "demo"
		} else if len(c.Flows) == 1 {
			for k := range c.Flows {
				c.DefaultFlow = k
			}
		}
	}
	if c.DefaultFlow != "" {
		if _, ok := c.Flows[c.DefaultFlow]; !ok {
			bad("default_flow", "no flow named %q in flows (have %s)", c.DefaultFlow, strings.Join(c.FlowNames(), ", "))
		}
	}
	for i := range c.Routes {
		r := &c.Routes[i]
		r.Line = lineOfIndex(root, "routes", i)
		if r.Number == "" {
			errs = append(errs, c.errAt(r.Line, "routes[%d]: number is empty", i))
		}
		if _, ok := c.Flows[r.Flow]; !ok {
			errs = append(errs, c.errAt(r.Line, "routes[%d]: no flow named %q in flows", i, r.Flow))
		}
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = Duration(30 * time.Second)
	}
	return errors.Join(errs...)
}

func (c *Config) errAt(line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", c.Path, line, fmt.Sprintf(format, args...))
}

// FlowNames lists the configured flows, sorted.
func (c *Config) FlowNames() []string {
	names := make([]string, 0, len(c.Flows))
	for k := range c.Flows {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// FlowPath resolves a flow's file relative to the config file.
func (c *Config) FlowPath(name string) string {
	p := c.Flows[name]
	if filepath.IsAbs(p) || c.Path == "" {
		return p
	}
	return filepath.Join(filepath.Dir(c.Path), p)
}

// RouteFlow names the flow for a dialled number.
func (c *Config) RouteFlow(number string) (string, bool) {
	for _, r := range c.Routes {
		if r.Match(number) {
			return r.Flow, true
		}
	}
	return c.DefaultFlow, c.DefaultFlow != ""
}

// ParseListen splits "udp:127.0.0.1:5060" into its transport and address.
func ParseListen(s string) (transport string, addr netip.AddrPort, err error) {
	t, rest, ok := strings.Cut(s, ":")
	if !ok {
		return "", netip.AddrPort{}, fmt.Errorf("%q: want transport:host:port, e.g. udp:0.0.0.0:5060", s)
	}
	t = strings.ToLower(t)
	if t != "udp" && t != "tcp" {
		return "", netip.AddrPort{}, fmt.Errorf("%q: transport %q is not udp or tcp", s, t)
	}
	ap, err := netip.ParseAddrPort(rest)
	if err != nil {
		return "", netip.AddrPort{}, fmt.Errorf("%q: %q is not host:port with an IP address", s, rest)
	}
	return t, ap, nil
}

func parseRange(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%q: want min-max, e.g. 10000-20000", s)
	}
	if lo < 1024 || hi > 65535 || lo >= hi {
		return 0, 0, fmt.Errorf("%q: want 1024 <= min < max <= 65535", s)
	}
	if hi-lo < 3 {
		return 0, 0, fmt.Errorf("%q: room for at least two RTP/RTCP port pairs is needed", s)
	}
	return lo, hi, nil
}

// lineOf finds the line of a mapping key path in the document; 0 if absent.
func lineOf(root *yaml.Node, path ...string) int {
	n := root
	if n == nil {
		return 0
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, key := range path {
		if n.Kind != yaml.MappingNode {
			return line
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				line = n.Content[i].Line
				n = n.Content[i+1]
				found = true
				break
			}
		}
		if !found {
			return line
		}
	}
	return line
}

func lineOfIndex(root *yaml.Node, key string, i int) int {
	n := root
	if n == nil {
		return 0
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return 0
	}
	for j := 0; j+1 < len(n.Content); j += 2 {
		if n.Content[j].Value == key {
			seq := n.Content[j+1]
			if seq.Kind == yaml.SequenceNode && i < len(seq.Content) {
				return seq.Content[i].Line
			}
			return n.Content[j].Line
		}
	}
	return 0
}
