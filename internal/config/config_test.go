package config

import (
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	c, err := Parse("sb.yaml", []byte(""))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.SIP.Listen, ","); got != "udp:0.0.0.0:5060,tcp:0.0.0.0:5060" {
		t.Errorf("listen = %s", got)
	}
	if c.Media.PortMin != 10000 || c.Media.PortMax != 20000 {
		t.Errorf("ports = %d-%d", c.Media.PortMin, c.Media.PortMax)
	}
	if c.Media.Timeout.D() != 30*time.Second || c.ShutdownGrace.D() != 30*time.Second {
		t.Errorf("timeouts = %v %v", c.Media.Timeout, c.ShutdownGrace)
	}
	if c.DefaultFlow != "demo" || c.FlowPath("demo") != "flows/demo.yaml" {
		t.Errorf("default flow %q at %q", c.DefaultFlow, c.FlowPath("demo"))
	}
}

func TestRoutes(t *testing.T) {
	c, err := Parse("configs/sb.yaml", []byte(`
flows:
  demo: flows/demo.yaml
  sales: /etc/sales.yaml
routes:
  - {number: "200", flow: sales}
  - {number: "+7495*", flow: sales}
`))
	if err != nil {
		t.Fatal(err)
	}
	for num, want := range map[string]string{"200": "sales", "2000": "demo", "+74951234567": "sales", "ivr": "demo"} {
		if got, _ := c.RouteFlow(num); got != want {
			t.Errorf("RouteFlow(%q) = %q, want %q", num, got, want)
		}
	}
	if p := c.FlowPath("demo"); p != "configs/flows/demo.yaml" {
		t.Errorf("FlowPath = %q", p)
	}
	if p := c.FlowPath("sales"); p != "/etc/sales.yaml" {
		t.Errorf("FlowPath = %q", p)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"sip:\n  listn: [udp:1.2.3.4:5060]\n", `sb.yaml:2: unknown field "listn" in sip`},
		{"sip:\n  listen: [sctp:1.2.3.4:5060]\n", `sb.yaml:2: sip.listen: "sctp:1.2.3.4:5060": transport "sctp" is not udp or tcp`},
		{"media:\n  rtp_ports: 20000-10000\n", `sb.yaml:2: media.rtp_ports: "20000-10000": want 1024 <= min < max <= 65535`},
		{"media:\n  timeout: soon\n", `sb.yaml:2: "soon" is not a duration (write e.g. 30s, 500ms)`},
		{"media:\n  public_address: example.com\n", `sb.yaml:2: media.public_address: "example.com" is not an IP address`},
		{"routes:\n  - {number: \"1\", flow: nope}\n", `sb.yaml:2: routes[0]: no flow named "nope" in flows`},
		{"sip: [1, 2\n", `sb.yaml:1: did not find expected ',' or ']'`},
		{"log:\n  level: loud\n", `sb.yaml:2: log.level: "loud" is not one of debug, info, warn, error`},
	} {
		_, err := Parse("sb.yaml", []byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) error = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestParseListen(t *testing.T) {
	tr, ap, err := ParseListen("TCP:[::1]:5070")
	if err != nil || tr != "tcp" || ap.String() != "[::1]:5070" {
		t.Errorf("ParseListen = %s %s %v", tr, ap, err)
	}
}

func TestShippedConfig(t *testing.T) {
	c, err := Load("../../configs/switchboard.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.DefaultFlow != "demo" || c.FlowPath("demo") != "../../configs/flows/demo.yaml" {
		t.Errorf("shipped config routes to %q at %q", c.DefaultFlow, c.FlowPath("demo"))
	}
}
