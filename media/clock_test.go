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

// TestClockFillsOneShardFirst: streams go to one shard until it holds
// shardFill, so a lightly loaded clock wakes one goroutine per tick, and
// a shard left without streams stops ticking until one joins again.
func TestClockFillsOneShardFirst(t *testing.T) {
	c := &Clock{shards: []*shard{{wake: make(chan struct{}, 1)}, {wake: make(chan struct{}, 1)}}}
	var streams []tickSignal
	for range shardFill {
		st := make(tickSignal, 1)
		streams = append(streams, st)
		if sh := c.register(st); sh != c.shards[0] {
			t.Fatalf("stream %d went to another shard with the first below %d", len(streams), shardFill)
		}
	}
	extra := make(tickSignal, 1)
	if sh := c.register(extra); sh != c.shards[1] {
		t.Fatal("a full first shard did not start the second")
	}
	// The next ones balance the two.
	more := make(tickSignal, 1)
	if sh := c.register(more); sh != c.shards[1] {
		t.Fatal("not placed on the less loaded shard")
	}
	c.shards[1].unregister(extra)
	c.shards[1].unregister(more)
	for _, st := range streams {
		c.shards[0].unregister(st)
	}
	if n0, n1 := c.shards[0].count.Load(), c.shards[1].count.Load(); n0 != 0 || n1 != 0 {
		t.Fatalf("counts %d, %d after every stream left", n0, n1)
	}

	// A stream that joins a clock whose shards sleep (no streams) is
	// ticked: the wake-up is not lost.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		c.Run(ctx)
		close(done)
	}()
	ticks := make(tickSignal, 1)
	sh := c.register(ticks)
	prev := <-ticks
	if n := <-ticks; n <= prev {
		t.Fatalf("tick %d after %d", n, prev)
	}
	sh.unregister(ticks)
	cancel()
	<-done
}
