// Package metrics serves the server's state over HTTP for operators and
// tests: /metrics in the Prometheus text format, /healthz, and Go's
// /debug/pprof. Values are read when scraped, from functions the owners of
// the state register; nothing is sampled in the background.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"sort"
	"sync"
	"time"
)

// Registry holds named value functions, and more handlers to serve.
type Registry struct {
	mu       sync.Mutex
	gauges   map[string]gauge
	handlers map[string]http.Handler
}

// Handle serves h at pattern (an http.ServeMux pattern) besides the
// registry's own pages.
func (r *Registry) Handle(pattern string, h http.Handler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.handlers == nil {
		r.handlers = map[string]http.Handler{}
	}
	r.handlers[pattern] = h
}

type gauge struct {
	help, kind string
	fn         func() float64
}

// New returns a registry with the Go runtime's goroutine and memory gauges.
func New() *Registry {
	r := &Registry{gauges: make(map[string]gauge)}
	r.Gauge("go_goroutines", "Goroutines that currently exist.", func() float64 { return float64(runtime.NumGoroutine()) })
	r.Gauge("go_memstats_heap_inuse_bytes", "Bytes in in-use heap spans.", func() float64 {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return float64(m.HeapInuse)
	})
	return r
}

// Gauge registers a value that can go up and down.
func (r *Registry) Gauge(name, help string, fn func() float64) { r.add(name, help, "gauge", fn) }

// Counter registers a value that only goes up.
func (r *Registry) Counter(name, help string, fn func() float64) { r.add(name, help, "counter", fn) }

func (r *Registry) add(name, help, kind string, fn func() float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gauges[name] = gauge{help, kind, fn}
}

// WriteTo writes every value in the Prometheus text format.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	names := make([]string, 0, len(r.gauges))
	for n := range r.gauges {
		names = append(names, n)
	}
	gs := make(map[string]gauge, len(r.gauges))
	for k, v := range r.gauges {
		gs[k] = v
	}
	r.mu.Unlock()
	sort.Strings(names)
	var total int64
	for _, n := range names {
		g := gs[n]
		k, err := fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %g\n", n, g.help, n, g.kind, n, g.fn())
		total += int64(k)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// Handler serves /metrics, /healthz and /debug/pprof/.
func (r *Registry) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = r.WriteTo(w)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	r.mu.Lock()
	for p, h := range r.handlers {
		mux.Handle(p, h)
	}
	r.mu.Unlock()
	return mux
}

// Serve listens on addr and serves until ctx is done. It returns the bound
// address once listening, and a channel closed when the server has stopped.
func (r *Registry) Serve(ctx context.Context, addr string) (net.Addr, <-chan struct{}, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics: %w", err)
	}
	srv := &http.Server{Handler: r.Handler(), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the listener closed under us: nothing left to serve
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return ln.Addr(), done, nil
}
