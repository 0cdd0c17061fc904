package loadgen

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// serve runs h on an in-memory listener and returns its dialer.
func serve(t testing.TB, h fasthttp.RequestHandler) fasthttp.DialFunc {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	s := &fasthttp.Server{Handler: h, Logger: quiet{}}
	go s.Serve(ln)
	t.Cleanup(func() { s.Shutdown() })
	return func(string) (net.Conn, error) { return ln.Dial() }
}

func ok(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") }

func TestRunCountsAndCycles(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	dial := serve(t, func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		seen[string(ctx.Path())+" "+string(ctx.Request.Header.Peek("X-N"))+" "+string(ctx.Request.Body())]++
		mu.Unlock()
		ok(ctx)
	})
	g, err := New(Config{Addr: "target", Dial: dial, Concurrency: 3, Requests: []Request{
		{Method: "POST", URI: "/a", Header: [][2]string{{"X-N", "1"}}, Body: []byte("one")},
		{Method: "POST", URI: "/b", Header: [][2]string{{"X-N", "2"}}, Body: []byte("two")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	res := g.Run(context.Background(), 200*time.Millisecond)
	if res.Errors != 0 || res.Requests == 0 || int64(len(res.Latencies)) != res.Requests {
		t.Fatalf("%+v", res)
	}
	if res.Elapsed < 200*time.Millisecond || res.RPS() <= 0 {
		t.Fatalf("elapsed %v rps %v", res.Elapsed, res.RPS())
	}
	for i := 1; i < len(res.Latencies); i++ {
		if res.Latencies[i] < res.Latencies[i-1] {
			t.Fatal("latencies not sorted")
		}
	}
	// A second run starts from zero.
	if res2 := g.Run(context.Background(), 50*time.Millisecond); res2.Requests == 0 || int64(len(res2.Latencies)) != res2.Requests {
		t.Fatalf("second run %+v", res2)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen["/a 1 one"] == 0 || seen["/b 2 two"] == 0 {
		t.Fatalf("requests seen %v", seen)
	}
}

func TestRunCountsWrongStatusAsError(t *testing.T) {
	dial := serve(t, func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(400) })
	g, _ := New(Config{Addr: "target", Dial: dial, Requests: []Request{{Method: "GET", URI: "/"}}})
	res := g.Run(context.Background(), 50*time.Millisecond)
	if res.Requests != 0 || res.Errors == 0 || res.FirstError != "loadgen: status 400" {
		t.Fatalf("%+v", res)
	}
}

func TestRunAgainstDeadTargetEnds(t *testing.T) {
	ln := fasthttputil.NewInmemoryListener()
	ln.Close()
	g, _ := New(Config{Addr: "target", Dial: func(string) (net.Conn, error) { return ln.Dial() },
		Concurrency: 2, Requests: []Request{{Method: "GET", URI: "/"}}})
	start := time.Now()
	res := g.Run(context.Background(), 100*time.Millisecond)
	if res.Errors == 0 || res.Requests != 0 || time.Since(start) > 5*time.Second {
		t.Fatalf("%+v after %v", res, time.Since(start))
	}
}

func TestRunStopsWhenContextEnds(t *testing.T) {
	g, _ := New(Config{Addr: "target", Dial: serve(t, ok), Requests: []Request{{Method: "GET", URI: "/"}}})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	g.Run(ctx, time.Hour)
	if time.Since(start) > 5*time.Second {
		t.Fatal("Run ignored its context")
	}
}

func TestNewRefusesEmptyConfig(t *testing.T) {
	for _, c := range []Config{{}, {Addr: "x"}, {Requests: []Request{{}}}} {
		if _, err := New(c); err == nil {
			t.Fatalf("%+v accepted", c)
		}
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	tests := []struct {
		name string
		lat  []time.Duration
		q    float64
		want time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", ms(7), 0.99, 7 * time.Millisecond},
		{"median of ten", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.5, 5 * time.Millisecond},
		{"p99 of hundred", ms(seq(100)...), 0.99, 99 * time.Millisecond},
		{"p0", ms(1, 2, 3), 0, 1 * time.Millisecond},
		{"p100", ms(1, 2, 3), 1, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Result{Latencies: tt.lat}
			if got := r.Percentile(tt.q); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

// TestWorkerDoesNotAllocate guards the generator's own hot path: allocations there would add
// garbage-collection work to every measurement.
func TestWorkerDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	g, _ := New(Config{Addr: "target", Dial: serve(t, ok), Requests: []Request{{Method: "POST", URI: "/x", Body: []byte("b")}}})
	w := g.workers[0]
	for range 100 {
		w.once() // open the connection, size the buffers
	}
	w.lat = w.lat[:0]
	if n := testing.AllocsPerRun(1000, func() { w.once() }); n != 0 {
		t.Fatalf("%v allocations per request", n)
	}
}

func BenchmarkWorker(b *testing.B) {
	g, _ := New(Config{Addr: "target", Dial: serve(b, ok), Requests: []Request{{Method: "POST", URI: "/x", Body: []byte("b")}}})
	w := g.workers[0]
	b.ReportAllocs()
	for b.Loop() {
		w.once()
		if len(w.lat) == cap(w.lat) {
			w.lat = w.lat[:0]
		}
	}
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}
