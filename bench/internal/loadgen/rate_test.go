package loadgen

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// TestRunAtRateKeepsEachWorkerToItsSchedule: with Rate set, a worker never sends before its
// slot (every Concurrency/Rate seconds), however fast the answers come, so n requests take at
// least the schedule's span. Only lower bounds: a loaded machine may send later, never earlier.
func TestRunAtRateKeepsEachWorkerToItsSchedule(t *testing.T) {
	var mu sync.Mutex
	var sent []time.Time
	dial := serve(t, func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		sent = append(sent, time.Now())
		mu.Unlock()
		ok(ctx)
	})
	const c, rate, n = 4, 400.0, 40 // each worker every 10 ms, 10 requests each
	g, err := New(Config{Addr: "target", Dial: dial, Concurrency: c, Rate: rate, Requests: []Request{{Method: "GET", URI: "/"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	res := g.RunCount(context.Background(), n)
	if res.Requests != n || res.Errors != 0 {
		t.Fatalf("%d requests, %d errors", res.Requests, res.Errors)
	}
	every := time.Duration(float64(c) / rate * float64(time.Second))
	if span := (n/c - 1) * every; res.Elapsed < span {
		t.Fatalf("%d requests at %.0f/s over %d workers took %v, under the schedule's %v", n, rate, c, res.Elapsed, span)
	}
	mu.Lock()
	defer mu.Unlock()
	if first, last := sent[0], sent[len(sent)-1]; last.Sub(first) < (n/c-1)*every-every {
		t.Fatalf("the server saw %d requests within %v", len(sent), last.Sub(first))
	}
}
