package tts

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
)

// Synthesizer turns text into 8 kHz mono PCM16.
type Synthesizer interface {
	Synthesize(ctx context.Context, text string) ([]int16, error)
}

var _ Synthesizer = (*Espeak)(nil)

// Cache renders each distinct prompt once per process and hands every later
// request the same audio. Requests for a prompt that is being rendered wait
// for that rendering rather than starting their own, and no lock is held
// while rendering, so a slow prompt delays only those who asked for it.
//
// Failures are not cached: the failed rendering's waiters all get its
// error, and the next request tries again, since the usual causes (a
// missing binary or file, a cancelled call) are fixed or gone by then.
// A waiter whose own context is still live when the rendering fails only
// because the requester who started it hung up starts a new rendering.
//
// The slices a Cache returns are shared by every caller and must not be
// modified. A Cache is safe for concurrent use.
type Cache struct {
	synth Synthesizer

	mu       sync.Mutex
	done     map[string][]int16
	inflight map[string]*render

	testHookWait func() // called when a request starts waiting; tests only
}

// render is one rendering in progress.
type render struct {
	finished  chan struct{}
	pcm       []int16
	err       error
	abandoned bool // failed because its requester's context ended
}

// NewCache returns a Cache that renders text with s.
func NewCache(s Synthesizer) *Cache {
	return &Cache{synth: s, done: map[string][]int16{}, inflight: map[string]*render{}}
}

// Text returns text spoken by the Cache's Synthesizer. The key is the text
// alone, as the Synthesizer and its voice are fixed for the Cache.
func (c *Cache) Text(ctx context.Context, text string) ([]int16, error) {
	return c.get(ctx, "text\x00"+text, func(ctx context.Context) ([]int16, error) {
		return c.synth.Synthesize(ctx, text)
	})
}

// File returns the audio file at path as LoadFile does. The key is the
// cleaned absolute path, so "prompts/x.wav" and "./prompts/x.wav" are one
// prompt; a file changed on disk is not read again.
func (c *Cache) File(ctx context.Context, path string) ([]int16, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("tts: %s: %w", path, err)
	}
	return c.get(ctx, "file\x00"+abs, func(context.Context) ([]int16, error) {
		return LoadFile(path)
	})
}

// Len returns how many prompts are cached.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.done)
}

func (c *Cache) get(ctx context.Context, key string, do func(context.Context) ([]int16, error)) ([]int16, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c.mu.Lock()
		if pcm, ok := c.done[key]; ok {
			c.mu.Unlock()
			return pcm, nil
		}
		r, ok := c.inflight[key]
		if !ok {
			r = &render{finished: make(chan struct{})}
			c.inflight[key] = r
			c.mu.Unlock()
			c.run(ctx, key, r, do)
			return r.pcm, r.err
		}
		hook := c.testHookWait
		c.mu.Unlock()
		if hook != nil {
			hook()
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-r.finished:
		}
		if r.err == nil || !r.abandoned {
			return r.pcm, r.err
		}
		// Its requester gave up, but this one has not: try again.
	}
}

// run renders for key and publishes the result, even if do panics, so that
// waiters are never stranded.
func (c *Cache) run(ctx context.Context, key string, r *render, do func(context.Context) ([]int16, error)) {
	r.err = errors.New("tts: rendering panicked")
	defer func() {
		c.mu.Lock()
		delete(c.inflight, key)
		if r.err == nil {
			c.done[key] = r.pcm
		}
		c.mu.Unlock()
		close(r.finished)
	}()
	r.pcm, r.err = do(ctx)
	r.abandoned = r.err != nil && ctx.Err() != nil
}
