//go:build !linux

package media

// poller is empty where the tick cannot read sockets itself.
type poller struct{}

// startPolling reports that reading needs goroutines on this system.
func (s *Session) startPolling() bool { return false }

func (s *Session) pollRTP()  {}
func (s *Session) pollRTCP() {}
