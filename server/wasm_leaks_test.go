package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/store"
)

// doBounded sends a request that must be answered within bound: a guest or a compile the edge
// fails to stop ends the test instead of hanging it.
func (e *testEdge) doBounded(t *testing.T, bound time.Duration, method, path, key string, body []byte, hdr ...string) *resp {
	t.Helper()
	req, _ := http.NewRequest(method, e.base+path, bytes.NewReader(body))
	req.Header.Set("BT-API-KEY", key)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := (&http.Client{Timeout: bound}).Do(req)
	if err != nil {
		t.Errorf("%s %s not answered within %v: %v", method, path, bound, err)
		return nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &resp{status: res.StatusCode, header: res.Header, body: b}
}

// tokensCreated counts the token creations in the audit log.
func tokensCreated(t *testing.T, e *testEdge) int {
	t.Helper()
	n, next := 0, ""
	for {
		evs, nx, err := e.srv.store.Events(context.Background(), store.EventQuery{EntityType: "token", Operation: "create", Size: 100, Start: next})
		if err != nil {
			t.Fatal(err)
		}
		n += len(evs)
		if next = nx; next == "" || len(evs) == 0 {
			return n
		}
	}
}

// TestWasmHostCallsCountAgainstDeadline: guests that loop over host calls — WASI random_get of
// 32 MiB, 32 MiB body writes, tokenize — each ran 14–44 s per request against a 1 s limit and
// one wrote 16 384 tokens. Time in host calls counts against the call's deadline: each request
// ends with the transform error (500 proxy_error) well within a generous bound, creates at most
// max_tokens_per_call tokens, and the edge serves the next request.
func TestWasmHostCallsCountAgainstDeadline(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	// The loops burn a CPU until the call timeout stops them: 250 ms. tokloop reaches a cap of
	// 10 tokens long before that (it makes hundreds a second on a loaded VM).
	const limit = 10
	e := proxyEdge(t, dest, func(c *Config) {
		c.Transforms.CallTimeout = 250 * time.Millisecond
		c.Transforms.MaxTokensPerCall = limit
	})
	for _, name := range []string{"randloop", "bodyloop", "tokloop"} {
		t.Run(name, func(t *testing.T) {
			good := e.wasmProxy(dest, e.upload(e.adminKey, testdataWasm(t, "tiny")), false, nil)
			key := e.wasmProxy(dest, e.upload(e.adminKey, testdataWasm(t, name)), false, nil)
			before := tokensCreated(t, e)
			r := e.doBounded(t, 15*time.Second, "POST", "/proxy", e.adminKey, []byte("{}"), "BT-PROXY-KEY", key, "Content-Type", "application/json")
			if r == nil {
				return
			}
			r.expectProblem(t, 500, true)
			created := tokensCreated(t, e) - before
			t.Logf("%s: answered %d, %d tokens created", name, r.status, created)
			if created > limit || name == "tokloop" && created == 0 {
				t.Fatalf("%d tokens created, want 1..%d", created, limit)
			}
			e.do("POST", "/proxy", e.adminKey, "{}", "BT-PROXY-KEY", good).expect(t, 200)
		})
	}
}

// nestedModule is a module of n functions, each a chain of depth nested blocks: within the shape
// limits, but slow to compile when there are enough of them.
func nestedModule(n, depth int) []byte {
	uleb := func(b []byte, v int) []byte { return binary.AppendUvarint(b, uint64(v)) }
	section := func(b []byte, id byte, body []byte) []byte { return append(uleb(append(b, id), len(body)), body...) }
	body := []byte{0} // no locals
	body = append(body, bytes.Repeat([]byte{0x02, 0x40}, depth)...)
	body = append(body, bytes.Repeat([]byte{0x0b}, depth)...)
	body = append(body, 0x41, 0, 0x0b) // i32.const 0, end
	funcs := uleb(nil, n)
	codes := uleb(nil, n)
	for i := 0; i < n; i++ {
		funcs = append(funcs, 0)
		codes = append(uleb(codes, len(body)), body...)
	}
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = section(m, 1, []byte{1, 0x60, 0, 1, 0x7f})                                            // () -> i32
	m = section(m, 3, funcs)                                                                  // n functions
	m = section(m, 5, []byte{1, 0, 1})                                                        // (memory 1)
	m = section(m, 7, append([]byte{2, 6}, "memory\x02\x00\x11sluice_on_request\x00\x00"...)) // exports
	return section(m, 10, codes)
}

// brTableModule has one function with a br_table of n targets.
func brTableModule(n int) []byte {
	uleb := func(b []byte, v int) []byte { return binary.AppendUvarint(b, uint64(v)) }
	section := func(b []byte, id byte, body []byte) []byte { return append(uleb(append(b, id), len(body)), body...) }
	body := uleb([]byte{0, 0x02, 0x40, 0x41, 0, 0x0e}, n)
	body = append(body, make([]byte, n+1)...)
	body = append(body, 0x0b, 0x41, 0, 0x0b)
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = section(m, 1, []byte{1, 0x60, 0, 1, 0x7f})
	m = section(m, 3, []byte{1, 0})
	m = section(m, 5, []byte{1, 0, 1})
	m = section(m, 7, append([]byte{2, 6}, "memory\x02\x00\x11sluice_on_request\x00\x00"...))
	return section(m, 10, append(uleb(uleb(nil, 1), len(body)), body...))
}

// TestCompileBoundedAndConcurrent: 80k nested blocks compiled for 22 s while every other upload
// waited on a global lock, and a 4M-target br_table never finished. Now the shapes are refused
// (422) before compiling; a module within the shape limits that compiles for longer than the
// compile timeout is abandoned (422); and while it compiles, other uploads are answered.
func TestCompileBoundedAndConcurrent(t *testing.T) {
	t.Parallel()
	dest := startDestination(t)
	e := proxyEdge(t, dest, func(c *Config) {
		// The slow compile burns both CPUs (two compilation workers) until abandoned. The normal
		// upload compiles in a millisecond under the same timeout: 1 s leaves room for a loaded
		// VM's stalls (500 ms did not at load 19). The other uploads are answered meanwhile (a
		// run where they are not only logs so). Generous under -race.
		c.Transforms.CompileTimeout = time.Second
		if raceEnabled {
			c.Transforms.CompileTimeout = 5 * time.Second
		}
		c.Transforms.CacheDir = "" // its own: an abandoned compile must not be found done by the next run
	})
	const bound = 60 * time.Second // generous: the bombs took 22 s to forever; this is about ending

	// A slow compile (500 functions of 2 000 nested blocks: 10 s of CPU here) starts first.
	slowDone := make(chan *resp, 1)
	go func() {
		slowDone <- e.doBounded(t, bound, "POST", "/transforms", e.adminKey, nestedModule(500, 2000), "Content-Type", "application/wasm")
	}()
	for deadline := time.Now().Add(bound); e.srv.wasm.Stats().Compiling == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the slow compile never started")
		}
	}

	// While it compiles: the bombs are refused and a normal upload succeeds.
	var wg sync.WaitGroup
	for _, tt := range []struct {
		name string
		wasm []byte
		want int
		says string
	}{
		{"80k nested blocks", nestedModule(1, 80_000), 422, "too complex"},
		{"4M-target br_table", brTableModule(4_000_000), 422, "too complex"},
		{"normal module", testdataWasm(t, "tiny"), 201, ""},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.doBounded(t, bound, "POST", "/transforms", e.adminKey, tt.wasm, "Content-Type", "application/wasm")
			if r == nil {
				return
			}
			if r.status != tt.want || !strings.Contains(string(r.body), tt.says) {
				t.Errorf("%s: %d %s, want %d naming %q", tt.name, r.status, r.body, tt.want, tt.says)
			}
		}()
	}
	wg.Wait()
	if e.srv.wasm.Stats().Compiling == 0 {
		t.Log("the slow compile ended before the others were answered: concurrency not shown by this run")
	}

	r := <-slowDone
	if r == nil {
		return
	}
	if r.status != 422 || !strings.Contains(string(r.body), "longer than") {
		t.Fatalf("slow compile: %d %s, want 422 naming the compile timeout", r.status, r.body)
	}
	if e.srv.wasm.Stats().Compiling != 0 {
		t.Fatal("the abandoned compile still runs")
	}
}
