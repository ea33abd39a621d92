package sip

import (
	"bytes"
	"log/slog"
	"net"
	"strings"

	gosip "github.com/emiago/sipgo/sip"
)

// badRequestConn sits under sipgo's UDP transport. sipgo drops a datagram
// it cannot parse without a word, so the sender retransmits into silence;
// RFC 3261 §16.3 and §21.4.1 want a 400. We parse each datagram first and
// answer the ones that fail with a 400 built from their raw headers.
type badRequestConn struct {
	*net.UDPConn
	log    *slog.Logger
	parser *gosip.Parser
}

func (c *badRequestConn) ReadFrom(b []byte) (int, net.Addr, error) {
	if c.parser == nil {
		c.parser = gosip.NewParser()
	}
	for {
		n, addr, err := c.UDPConn.ReadFrom(b)
		if err != nil {
			return n, addr, err
		}
		data := b[:n]
		if len(bytes.Trim(data, "\r\n")) == 0 {
			return n, addr, nil // keep-alive, sipgo knows these
		}
		if _, perr := c.parser.ParseSIP(data); perr == nil {
			return n, addr, nil
		} else if res := badRequest(data, perr); res != nil {
			c.log.Warn("malformed sip request", "from", addr.String(), "error", perr.Error())
			_, _ = c.UDPConn.WriteTo(res, addr)
		} else {
			c.log.Debug("unparsable sip datagram dropped", "from", addr.String(), "error", perr.Error())
		}
	}
}

// badRequest builds "400 Bad Request" for a raw request that failed to
// parse, or returns nil when it is not a request or has no Via to answer to.
func badRequest(data []byte, perr error) []byte {
	head, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	lines := strings.Split(strings.ReplaceAll(string(head), "\r\n", "\n"), "\n")
	if len(lines) == 0 {
		return nil
	}
	start := strings.Fields(lines[0])
	if len(start) != 3 || !strings.HasPrefix(start[2], "SIP/") || strings.HasPrefix(start[0], "SIP/") {
		return nil
	}
	if start[0] == "ACK" {
		return nil // never answered (RFC 3261 §17.2.3)
	}
	var out strings.Builder
	reason := "Bad Request"
	if msg := strings.Map(printable, perr.Error()); msg != "" && len(msg) < 100 {
		reason = "Bad Request (" + msg + ")"
	}
	out.WriteString("SIP/2.0 400 " + reason + "\r\n")
	hasVia := false
	for _, l := range lines[1:] {
		name, _, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "via", "v":
			hasVia = true
			out.WriteString(l + "\r\n")
		case "from", "f", "call-id", "i", "cseq":
			out.WriteString(l + "\r\n")
		case "to", "t":
			if !strings.Contains(strings.ToLower(l), "tag=") {
				l += ";tag=" + gosip.GenerateTagN(10)
			}
			out.WriteString(l + "\r\n")
		}
	}
	if !hasVia {
		return nil
	}
	out.WriteString("Content-Length: 0\r\n\r\n")
	return []byte(out.String())
}

func printable(r rune) rune {
	if r < 0x20 || r > 0x7e {
		return -1
	}
	return r
}
