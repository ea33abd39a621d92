package media

import (
	"context"
	"net"
	"testing"
)

// tickSignal is a stream that only reports its ticks.
type tickSignal chan int64

func (c tickSignal) clockTick(n int64, _ *histogram) {
	select {
	case c <- n:
	default:
	}
}

func (c tickSignal) clockReceive(*rxBuf) {}

func TestClockTicksEvery20ms(t *testing.T) {
	c := NewClock()
	ticks := make(tickSignal, 1)
	sh := c.register(ticks)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		c.Run(ctx)
		close(done)
	}()
	prev := <-ticks
	for range 10 {
		n := <-ticks
		if n <= prev {
			t.Fatalf("tick %d after %d", n, prev)
		}
		prev = n
	}
	sh.unregister(ticks)
	cancel()
	<-done
}

// BenchmarkClock runs 200 calls' senders on one clock and reports the
// send-interval distribution; ns/op is the tick period.
func BenchmarkClock(b *testing.B) {
	const calls = 200
	sink, err := net.ListenUDP("udp", udpAddr(loopback, 0))
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	c := NewClock()
	var sessions []*Session
	for range calls {
		s := NewSession(testRTPConn(b), nil, nil, c, Config{Remote: sink.LocalAddr().(*net.UDPAddr).AddrPort()})
		s.shard = c.register(s) // no RTCP goroutine
		sessions = append(sessions, s)
	}
	ticks := make(tickSignal, 1)
	c.register(ticks)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		c.Run(ctx)
		close(done)
	}()
	b.ReportAllocs()
	for b.Loop() {
		<-ticks
	}
	cancel()
	<-done
	for _, s := range sessions {
		s.Close()
	}
	st := c.Stats()
	b.ReportMetric(float64(st.P50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(st.P99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(st.Max.Microseconds())/1000, "max-ms")
}
