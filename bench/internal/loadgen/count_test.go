package loadgen

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestRunCountSendsExactlyN: the gate divides a window's instructions by its request count, so
// the server must see exactly the requests RunCount reports, at any concurrency.
func TestRunCountSendsExactlyN(t *testing.T) {
	for _, c := range []int{1, 3, 8} {
		var served atomic.Int64
		dial := serve(t, func(ctx *fasthttp.RequestCtx) { served.Add(1); ok(ctx) })
		g, err := New(Config{Addr: "target", Dial: dial, Concurrency: c, Requests: []Request{{Method: "GET", URI: "/"}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int64{1, 7, 100} {
			served.Store(0)
			res := g.RunCount(context.Background(), n)
			if res.Requests != n || res.Errors != 0 || served.Load() != n || int64(len(res.Latencies)) != n {
				t.Fatalf("c=%d n=%d: result %d requests, %d errors; server saw %d", c, n, res.Requests, res.Errors, served.Load())
			}
		}
		g.Close()
	}
}
