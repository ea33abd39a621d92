package metrics

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestServe(t *testing.T) {
	r := New()
	n := 0.0
	r.Counter("calls_total", "Calls.", func() float64 { n++; return n })
	ctx, cancel := context.WithCancel(context.Background())
	addr, done, err := r.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get("http://" + addr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{"# TYPE calls_total counter\ncalls_total 1\n", "go_goroutines "} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	cancel()
	<-done
}
