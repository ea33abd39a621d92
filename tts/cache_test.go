package tts

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeSynth counts calls and, when gate is set, holds every call until the
// gate is closed. Each call is announced on started if that is set.
type fakeSynth struct {
	calls   atomic.Int32
	gate    chan struct{}
	started chan struct{}
	err     error
}

func (f *fakeSynth) Synthesize(ctx context.Context, text string) ([]int16, error) {
	f.calls.Add(1)
	if f.started != nil {
		f.started <- struct{}{}
	}
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.err != nil {
		return nil, f.err
	}
	return []int16{int16(len(text))}, nil
}

// joined returns a hook for Cache.testHookWait and a channel closed once n
// requests are waiting on a rendering.
func joined(n int) (func(), <-chan struct{}) {
	var mu sync.Mutex
	all := make(chan struct{})
	return func() {
		mu.Lock()
		defer mu.Unlock()
		if n--; n == 0 {
			close(all)
		}
	}, all
}

func TestCacheRendersOnceForConcurrentRequests(t *testing.T) {
	f := &fakeSynth{gate: make(chan struct{})}
	c := NewCache(f)
	hook, waiting := joined(49)
	c.testHookWait = hook
	var wg sync.WaitGroup
	results := make([][]int16, 50)
	errs := make([]error, 50)
	for i := range 50 {
		wg.Go(func() { results[i], errs[i] = c.Text(context.Background(), "hello") })
	}
	<-waiting // one rendering, 49 waiting on it
	close(f.gate)
	wg.Wait()
	if n := f.calls.Load(); n != 1 {
		t.Errorf("synthesised %d times, want 1", n)
	}
	for i := range 50 {
		if errs[i] != nil || len(results[i]) != 1 || &results[i][0] != &results[0][0] {
			t.Fatalf("request %d: %v, %v; want the shared result", i, results[i], errs[i])
		}
	}
	if _, err := c.Text(context.Background(), "hello"); err != nil || f.calls.Load() != 1 || c.Len() != 1 {
		t.Errorf("a later request re-rendered (calls %d, len %d, err %v)", f.calls.Load(), c.Len(), err)
	}
}

func TestCacheSeparatesTexts(t *testing.T) {
	f := &fakeSynth{}
	c := NewCache(f)
	ctx := context.Background()
	a, _ := c.Text(ctx, "a")
	bb, _ := c.Text(ctx, "bb")
	a2, _ := c.Text(ctx, "a")
	if a[0] != 1 || bb[0] != 2 || &a2[0] != &a[0] {
		t.Errorf("got %v %v %v", a, bb, a2)
	}
	if f.calls.Load() != 2 || c.Len() != 2 {
		t.Errorf("calls %d, len %d; want 2, 2", f.calls.Load(), c.Len())
	}
}

func TestCacheRetriesAfterError(t *testing.T) {
	boom := errors.New("boom")
	f := &fakeSynth{err: boom}
	c := NewCache(f)
	if _, err := c.Text(context.Background(), "x"); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if c.Len() != 0 {
		t.Error("an error was cached")
	}
	f.err = nil
	if pcm, err := c.Text(context.Background(), "x"); err != nil || len(pcm) != 1 {
		t.Fatalf("retry: %v, %v", pcm, err)
	}
	if f.calls.Load() != 2 {
		t.Errorf("calls = %d, want 2", f.calls.Load())
	}
}

func TestCacheWaitersShareAnError(t *testing.T) {
	boom := errors.New("boom")
	f := &fakeSynth{gate: make(chan struct{}), err: boom}
	c := NewCache(f)
	hook, waiting := joined(9)
	c.testHookWait = hook
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 10 {
		wg.Go(func() {
			if _, err := c.Text(context.Background(), "x"); errors.Is(err, boom) {
				failed.Add(1)
			}
		})
	}
	<-waiting
	close(f.gate)
	wg.Wait()
	if f.calls.Load() != 1 || failed.Load() != 10 {
		t.Errorf("calls %d, failed %d; want 1 rendering whose error all 10 get", f.calls.Load(), failed.Load())
	}
}

func TestCacheLeaderHangsUp(t *testing.T) {
	f := &fakeSynth{gate: make(chan struct{}), started: make(chan struct{}, 2)}
	c := NewCache(f)
	hook, waiting := joined(1)
	c.testHookWait = hook
	leaderCtx, hangUp := context.WithCancel(context.Background())
	leaderErr := make(chan error)
	go func() {
		_, err := c.Text(leaderCtx, "x")
		leaderErr <- err
	}()
	<-f.started // the leader is rendering before the second request
	result := make(chan error)
	go func() {
		_, err := c.Text(context.Background(), "x")
		result <- err
	}()
	<-waiting
	hangUp()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader: err = %v, want context.Canceled", err)
	}
	close(f.gate) // let the waiter's own rendering through
	if err := <-result; err != nil {
		t.Fatalf("waiter: err = %v, want it to render for itself", err)
	}
	if f.calls.Load() != 2 || c.Len() != 1 {
		t.Errorf("calls %d, len %d; want 2, 1", f.calls.Load(), c.Len())
	}
}

func TestCacheWaiterGivesUp(t *testing.T) {
	f := &fakeSynth{gate: make(chan struct{}), started: make(chan struct{}, 1)}
	c := NewCache(f)
	hook, waiting := joined(1)
	c.testHookWait = hook
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := c.Text(context.Background(), "x"); err != nil {
			t.Errorf("leader: %v", err)
		}
	}()
	<-f.started
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error)
	go func() {
		_, err := c.Text(ctx, "x")
		result <- err
	}()
	<-waiting
	cancel()
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Errorf("waiter: err = %v, want context.Canceled", err)
	}
	close(f.gate)
	<-done
	if f.calls.Load() != 1 {
		t.Errorf("calls = %d, want 1", f.calls.Load())
	}
}

func TestCachePanicDoesNotStrandWaiters(t *testing.T) {
	c := NewCache(panicSynth{})
	func() {
		defer func() { _ = recover() }()
		_, _ = c.Text(context.Background(), "x")
	}()
	c.mu.Lock()
	n := len(c.inflight)
	c.mu.Unlock()
	if n != 0 || c.Len() != 0 {
		t.Errorf("after a panic: %d in flight, %d cached", n, c.Len())
	}
}

type panicSynth struct{}

func (panicSynth) Synthesize(context.Context, string) ([]int16, error) { panic("synth bug") }

func TestCacheFile(t *testing.T) {
	c := NewCache(&fakeSynth{})
	ctx := context.Background()
	src, err := os.ReadFile(filepath.Join("..", "testdata", "audio", "tone440_8k_ulaw.wav"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "p.wav")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := c.File(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.File(ctx, filepath.Join(dir, ".", "sub", "..", "p.wav"))
	if err != nil || &a[0] != &b[0] || c.Len() != 1 {
		t.Errorf("the same file by another path was loaded again (len %d, err %v)", c.Len(), err)
	}
	if _, err := c.File(ctx, filepath.Join(dir, "missing.wav")); err == nil {
		t.Error("missing file gave no error")
	}
}
