package bench

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/bench/internal/fixture"
	"github.com/sluice-edge/sluice/internal/testwasm"
	"github.com/sluice-edge/sluice/transforms"
)

// tinyWasm is the hand-written guest of package transforms: one host call to read the request
// head, one to append a header.
const tinyWasm = "../transforms/testdata/tiny.wasm"

// buildGoGuest compiles testdata/goguest for wasip1 (cached by source, see internal/testwasm).
func buildGoGuest(tb testing.TB) []byte {
	tb.Helper()
	return testwasm.Build(tb, "bench/testdata/goguest")
}

// wasmCall is one request-transform call on the 1 KB body, as the proxy makes it.
type wasmCall struct {
	e       *transforms.Engine
	id      string
	headers []transforms.Header
	body    []byte
}

func newWasmCall(tb testing.TB, wasm []byte) *wasmCall {
	tb.Helper()
	ctx := context.Background()
	e, err := transforms.New(ctx, transforms.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close(ctx) })
	info, err := e.Compile(ctx, wasm)
	if err != nil {
		tb.Fatal(err)
	}
	body, _ := fixture.Body(fixture.BodySize, fixture.PANs[:]...)
	return &wasmCall{e: e, id: info.ID, body: body, headers: []transforms.Header{
		{Name: []byte("Content-Type"), Value: []byte("application/json")},
		{Name: []byte("Accept"), Value: []byte("*/*")},
		{Name: []byte("X-Request-Id"), Value: []byte("0f8fad5b-d9cb-469f-a165-70867728950e")},
	}}
}

// call runs the transform on a fresh exchange and returns the value of header name afterwards.
func (w *wasmCall) call(ex *transforms.Exchange, name string) ([]byte, error) {
	ex.Reset()
	ex.Method, ex.Path = []byte("POST"), []byte("/charge")
	ex.Headers, ex.Body = w.headers, w.body
	o, err := w.e.OnRequest(context.Background(), w.id, ex)
	if err != nil || o.Ended {
		return nil, err
	}
	return ex.HeaderValue(name), nil
}

func benchWasm(b *testing.B, wasm []byte, header string) {
	w := newWasmCall(b, wasm)
	ex := transforms.AcquireExchange()
	defer transforms.ReleaseExchange(ex)
	b.ReportAllocs()
	b.SetBytes(int64(len(w.body)))
	cpu0 := processCPU()
	for b.Loop() {
		if v, err := w.call(ex, header); err != nil || string(v) != "1" {
			b.Fatalf("%q %v", v, err)
		}
	}
	// Process CPU, not only this goroutine's time: wazero starts a goroutine per call to watch
	// for the deadline, and waking a thread for it costs CPU elsewhere.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
}

// BenchmarkWasmTiny: one request-transform call of the tiny hand-written guest, pool warm.
func BenchmarkWasmTiny(b *testing.B) {
	wasm, err := os.ReadFile(tinyWasm)
	if err != nil {
		b.Skip("no tiny guest:", err)
	}
	benchWasm(b, wasm, "x-tiny")
}

// BenchmarkWasmGoGuest: the same work done by a standard Go guest using transforms/sdk.
func BenchmarkWasmGoGuest(b *testing.B) {
	benchWasm(b, buildGoGuest(b), "X-Go-Guest")
}

// TestWasmTinyFixture: the tiny guest adds its header (the Go guest is checked by its benchmark,
// which needs a multi-second build).
func TestWasmTinyFixture(t *testing.T) {
	wasm, err := os.ReadFile(tinyWasm)
	if err != nil {
		t.Skip("no tiny guest:", err)
	}
	w := newWasmCall(t, wasm)
	ex := transforms.AcquireExchange()
	defer transforms.ReleaseExchange(ex)
	if v, err := w.call(ex, "x-tiny"); err != nil || string(v) != "1" {
		t.Fatalf("x-tiny = %q, %v", v, err)
	}
}
