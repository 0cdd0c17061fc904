// Package loadgen is a closed-loop HTTP load generator: Concurrency workers, each with its own
// keep-alive connection, send requests back to back for a fixed time and record every latency.
// It is built on fasthttp so that its own cost per request is small and the same for every
// target it drives.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Request is one request template. Workers cycle through a list of them.
type Request struct {
	Method string
	URI    string // path and query, e.g. "/proxy/charge"
	Header [][2]string
	Body   []byte
}

// Config configures a Generator. Zero fields take defaults.
type Config struct {
	Addr        string            // target "host:port"
	Dial        fasthttp.DialFunc // replaces TCP (in-memory tests); nil dials Addr
	Concurrency int               // workers and connections (default 1)
	Requests    []Request         // at least one
	Timeout     time.Duration     // per request (default 10 s)
	WantStatus  int               // a request counts as an error otherwise (default 200)
	// Rate, when positive, is the offered load in requests per second over all workers: each
	// worker sends on its own schedule (open loop) instead of as soon as its last answer came.
	// Targets compared at one rate do the same work per second, so their CPU per request is
	// comparable; flat out, the faster target spreads its fixed per-second costs thinner.
	Rate float64
}

// Result is what one Run measured. Latencies holds only successful requests, sorted.
type Result struct {
	Requests   int64
	Errors     int64
	FirstError string // first failure, for the report; never holds a body
	Elapsed    time.Duration
	Latencies  []time.Duration
}

// RPS is successful requests per second.
func (r *Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Percentile returns the q-quantile (0 ≤ q ≤ 1) of the latencies, nearest rank, or 0 if none.
func (r *Result) Percentile(q float64) time.Duration {
	n := len(r.Latencies)
	if n == 0 {
		return 0
	}
	i := int(q*float64(n)+0.5) - 1
	return r.Latencies[max(0, min(n-1, i))]
}

// Generator drives one target. Build it with New; Run may be called repeatedly (connections stay
// open between runs, so a short first Run warms up). Not safe for concurrent Runs.
type Generator struct {
	cfg     Config
	client  *fasthttp.HostClient
	workers []*worker
}

type worker struct {
	g     *Generator
	reqs  []*fasthttp.Request
	resp  fasthttp.Response
	next  int
	lat   []time.Duration
	n     int64
	errs  int64
	first error
}

// New prepares a Generator. The requests are copied.
func New(cfg Config) (*Generator, error) {
	if cfg.Addr == "" || len(cfg.Requests) == 0 {
		return nil, errors.New("loadgen: an address and at least one request are required")
	}
	cfg.Concurrency = max(cfg.Concurrency, 1)
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.WantStatus == 0 {
		cfg.WantStatus = fasthttp.StatusOK
	}
	g := &Generator{cfg: cfg}
	g.client = &fasthttp.HostClient{
		Addr:                      cfg.Addr,
		Dial:                      cfg.Dial,
		MaxConns:                  cfg.Concurrency,
		MaxIdleConnDuration:       time.Minute,
		NoDefaultUserAgentHeader:  true,
		ReadBufferSize:            16 << 10,
		MaxIdemponentCallAttempts: 1,
	}
	if g.client.Dial == nil {
		d := &net.Dialer{Timeout: 5 * time.Second}
		g.client.Dial = func(addr string) (net.Conn, error) { return d.Dial("tcp", addr) }
	}
	for w := 0; w < cfg.Concurrency; w++ {
		wk := &worker{g: g, next: w % len(cfg.Requests), lat: make([]time.Duration, 0, 1<<14)}
		for _, r := range cfg.Requests {
			req := new(fasthttp.Request)
			req.SetRequestURI("http://" + cfg.Addr + r.URI)
			req.Header.SetMethod(r.Method)
			for _, h := range r.Header {
				req.Header.Set(h[0], h[1])
			}
			req.SetBody(r.Body)
			req.SetTimeout(cfg.Timeout)
			wk.reqs = append(wk.reqs, req)
		}
		g.workers = append(g.workers, wk)
	}
	return g, nil
}

// Run sends requests for d (or until ctx ends) and returns what it measured. Requests in flight at
// the end complete and are counted; Elapsed runs until the last of them.
func (g *Generator) Run(ctx context.Context, d time.Duration) Result {
	deadline := time.Now().Add(d)
	return g.run(ctx, func(end time.Time) bool { return end.Before(deadline) })
}

// RunCount sends exactly n requests (fewer only if ctx ends), shared among the workers, and
// returns what it measured. The instruction gate uses it: a fixed window of requests.
func (g *Generator) RunCount(ctx context.Context, n int64) Result {
	var sent atomic.Int64
	return g.run(ctx, func(time.Time) bool { return sent.Add(1) <= n })
}

// run starts every worker; a worker sends its next request while more(end of the last one).
func (g *Generator) run(ctx context.Context, more func(time.Time) bool) Result {
	start := time.Now()
	var wg sync.WaitGroup
	ends := make([]time.Time, len(g.workers))
	var every time.Duration // between one worker's sends, at the offered rate
	if g.cfg.Rate > 0 {
		every = time.Duration(float64(len(g.workers)) / g.cfg.Rate * float64(time.Second))
	}
	for i, w := range g.workers {
		w.n, w.errs, w.first, w.lat = 0, 0, nil, w.lat[:0]
		wg.Add(1)
		go func() {
			defer wg.Done()
			end := start
			next := start.Add(every * time.Duration(i) / time.Duration(len(g.workers))) // workers staggered
			for ctx.Err() == nil && more(end) {
				if every > 0 {
					time.Sleep(time.Until(next))
					next = next.Add(every)
				}
				end = w.once()
			}
			ends[i] = end
		}()
	}
	wg.Wait()
	res := Result{Elapsed: slices.MaxFunc(ends, time.Time.Compare).Sub(start)}
	for _, w := range g.workers {
		res.Requests += w.n
		res.Errors += w.errs
		if w.first != nil && res.FirstError == "" {
			res.FirstError = w.first.Error()
		}
		res.Latencies = append(res.Latencies, w.lat...)
	}
	slices.Sort(res.Latencies)
	return res
}

// once sends the worker's next request and records it; it returns when the answer was read.
func (w *worker) once() time.Time {
	req := w.reqs[w.next]
	if w.next++; w.next == len(w.reqs) {
		w.next = 0
	}
	t0 := time.Now()
	err := w.g.client.Do(req, &w.resp)
	t1 := time.Now()
	switch {
	case err != nil:
		w.fail(err)
	case w.resp.StatusCode() != w.g.cfg.WantStatus:
		w.fail(fmt.Errorf("loadgen: status %d", w.resp.StatusCode()))
	default:
		w.n++
		w.lat = append(w.lat, t1.Sub(t0))
	}
	return t1
}

func (w *worker) fail(err error) {
	w.errs++
	if w.first == nil {
		w.first = err
	}
	if w.errs%64 == 0 { // a dead target must not turn into a busy loop
		time.Sleep(10 * time.Millisecond)
	}
}

// Close closes idle connections.
func (g *Generator) Close() { g.client.CloseIdleConnections() }
