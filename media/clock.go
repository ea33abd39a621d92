package media

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// maxCatchUp is how many missed frames a stream sends at once after its
	// shard fell behind; a longer stall is skipped (timestamps still advance)
	// because a burst longer than a jitter buffer would be dropped anyway.
	maxCatchUp = 5

	histBuckets = 201 // 0..199 ms, and 200 for ≥ 199.5 ms
)

// SendStats summarises the interval between consecutive packets of each
// stream, over all streams since the clock was created. Intervals of
// catch-up packets are included, so a stall shows up as one long interval
// followed by short ones. P50 and P99 have 1 ms resolution.
type SendStats struct {
	Count         uint64 // intervals measured
	P50, P99, Max time.Duration
}

// Clock paces the sending of every call. One goroutine per shard sleeps to
// the next 20 ms deadline, computed from the start time rather than from the
// last wake-up so that lateness does not accumulate, and sends one packet
// for each of its streams. Sharding by GOMAXPROCS spreads the sends of many
// calls over the cores, while a timer per call would cost a goroutine
// wake-up each.
//
// A wake-up is not free either: on this project's 2-core virtual machine
// an idle server ticking two shards (100 wake-ups a second, and the Go
// scheduler's own thread wake-ups around them) used 1.1–1.6 % of a core. A
// shard without streams therefore sleeps until one is registered, and new
// streams fill the first shard up to shardFill before a second shard
// starts, so a lightly loaded server wakes 50 times a second, not 100.
type Clock struct {
	shards []*shard
	place  sync.Mutex // orders the choice of a shard in register
}

// shardFill is how many streams a shard takes before register starts
// another one: a tick of 128 calls takes a few milliseconds of the 20.
const shardFill = 128

// clocked is what a shard drives: a Session, or a fake in tests.
type clocked interface {
	// clockTick is called on each tick with the tick number since the
	// clock started; it sends what is due and records send intervals.
	clockTick(n int64, h *histogram)
	// clockReceive is called on each tick once every stream of the shard
	// has sent; it receives what arrived since the last tick, reading it
	// into rx.
	clockReceive(rx *rxBuf)
}

type shard struct {
	mu      sync.Mutex // held for a whole tick, so unregister waits it out
	streams []clocked
	count   atomic.Int32  // len(streams), for register's choice
	wake    chan struct{} // signalled when a stream joins an empty shard
	hist    histogram
	rx      rxBuf // lent to each stream in turn during a tick
}

// NewClock returns a clock with one shard per GOMAXPROCS. Streams may be
// registered before Run.
func NewClock() *Clock {
	c := &Clock{shards: make([]*shard, runtime.GOMAXPROCS(0))}
	for i := range c.shards {
		c.shards[i] = &shard{wake: make(chan struct{}, 1)}
	}
	return c
}

// Run ticks until ctx is done, then returns once every shard goroutine has
// stopped. Call it once.
func (c *Clock) Run(ctx context.Context) {
	start := time.Now()
	var wg sync.WaitGroup
	for i, sh := range c.shards {
		// Shards tick at staggered phases so that their bursts of sends
		// do not contend for the cores at the same instant.
		phase := time.Duration(i) * FrameDuration / time.Duration(len(c.shards))
		wg.Go(func() { sh.run(ctx, start.Add(phase)) })
	}
	wg.Wait()
}

// register adds st to a shard: the least loaded of the shards in use, or
// the next idle one when those all have shardFill streams or more.
func (c *Clock) register(st clocked) *shard {
	c.place.Lock()
	var sh *shard
	for _, x := range c.shards {
		if n := x.count.Load(); n > 0 && (sh == nil || n < sh.count.Load()) {
			sh = x
		}
	}
	if sh == nil || sh.count.Load() >= shardFill {
		for _, x := range c.shards {
			if x.count.Load() == 0 {
				sh = x
				break
			}
		}
	}
	sh.count.Add(1)
	c.place.Unlock()

	sh.mu.Lock()
	sh.streams = append(sh.streams, st)
	sh.mu.Unlock()
	select {
	case sh.wake <- struct{}{}:
	default:
	}
	return sh
}

// unregister removes st; when it returns, no tick of st is running or will
// run, so its sockets may be closed.
func (sh *shard) unregister(st clocked) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for i, x := range sh.streams {
		if x == st {
			last := len(sh.streams) - 1
			sh.streams[i] = sh.streams[last]
			sh.streams[last] = nil
			sh.streams = sh.streams[:last]
			sh.count.Add(-1)
			return
		}
	}
}

func (sh *shard) run(ctx context.Context, start time.Time) {
	t := time.NewTimer(FrameDuration)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n := int64(time.Since(start) / FrameDuration)
		sh.mu.Lock()
		if len(sh.streams) == 0 {
			// Sleep until a stream joins (its signal waits in wake if
			// it came first), then go on at the next tick of the grid.
			sh.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-sh.wake:
			}
			n = int64(time.Since(start) / FrameDuration)
			t.Reset(time.Until(start.Add(time.Duration(n+1) * FrameDuration)))
			continue
		}
		// Sending first keeps the sends of a tick as close together and
		// as evenly spaced as they can be: receiving (and decoding, and
		// the VAD behind OnAudio) takes longer, and by more from one tick
		// to the next.
		for _, st := range sh.streams {
			st.clockTick(n, &sh.hist)
		}
		for _, st := range sh.streams {
			st.clockReceive(&sh.rx)
		}
		sh.mu.Unlock()
		t.Reset(time.Until(start.Add(time.Duration(n+1) * FrameDuration)))
	}
}

// Stats merges the send-interval histograms of all shards.
func (c *Clock) Stats() SendStats {
	var b [histBuckets]uint64
	var st SendStats
	for _, sh := range c.shards {
		for i := range b {
			b[i] += sh.hist.buckets[i].Load()
		}
		st.Max = max(st.Max, time.Duration(sh.hist.max.Load()))
	}
	for _, v := range b {
		st.Count += v
	}
	st.P50 = percentile(&b, st.Count, 50)
	st.P99 = percentile(&b, st.Count, 99)
	return st
}

func percentile(b *[histBuckets]uint64, total uint64, p uint64) time.Duration {
	if total == 0 {
		return 0
	}
	want := (total*p + 99) / 100
	var sum uint64
	for i, v := range b {
		sum += v
		if sum >= want {
			return time.Duration(i) * time.Millisecond
		}
	}
	return (histBuckets - 1) * time.Millisecond
}

// histogram has one writer (its shard's goroutine) and lock-free readers.
// Buckets are 1 ms wide and centred on whole milliseconds, so a 20.05 ms
// interval counts as 20 ms.
type histogram struct {
	buckets [histBuckets]atomic.Uint64
	max     atomic.Int64
}

func (h *histogram) record(d time.Duration) {
	i := int((d + time.Millisecond/2) / time.Millisecond)
	h.buckets[min(max(i, 0), histBuckets-1)].Add(1)
	if int64(d) > h.max.Load() {
		h.max.Store(int64(d))
	}
}
