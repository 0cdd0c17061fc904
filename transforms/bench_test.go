package transforms

import (
	"context"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

// BenchmarkWasmTiny: one pooled call of a tiny WAT guest, through the
// Engine, next to a bare wazero call of a no-op export (the floor).
func BenchmarkWasmTiny(b *testing.B) {
	ctx := context.Background()
	b.Run("wazero-bare-nop", func(b *testing.B) {
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true))
		defer rt.Close(ctx)
		mod, err := rt.Instantiate(ctx, testdata(b, "nop"))
		if err != nil {
			b.Fatal(err)
		}
		fn := mod.ExportedFunction("sluice_on_request")
		stack := make([]uint64, 1)
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		b.ReportAllocs()
		for b.Loop() {
			if err := fn.CallWithStack(cctx, stack); err != nil {
				b.Fatal(err)
			}
		}
	})
	e := newEngine(b, Config{})
	headers := hdr("Content-Type", "application/json", "X-Request-Id", "0f8fad5b-d9cb-469f-a165-70867728950e")
	body := []byte(`{"amount":10}`)
	for _, name := range []string{"nop", "tiny"} {
		b.Run("engine-"+name, func(b *testing.B) {
			id := compile(b, e, testdata(b, name))
			ex := AcquireExchange()
			defer ReleaseExchange(ex)
			b.ReportAllocs()
			for b.Loop() {
				ex.Reset()
				ex.Headers, ex.Body = headers, body
				if _, err := e.OnRequest(ctx, id, ex); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWasmGoGuest: a standard Go guest (the SDK examples) on a 1 KB
// JSON body, pool warm.
func BenchmarkWasmGoGuest(b *testing.B) {
	ctx := context.Background()
	e := newEngine(b, Config{})
	body := []byte(`{"amount":1000,"currency":"usd","card":"4242424242424242","description":"` +
		strings.Repeat("x", 1024-78) + `"}`)
	headers := hdr("Content-Type", "application/json", "Accept", "*/*", "X-Customer-Id", "c_1")
	cfg := map[string]string{"HMAC_SECRET": "s3cr3t"}
	for _, name := range []string{"require-header", "hmac-sign", "form-encode"} {
		b.Run(name, func(b *testing.B) {
			id := compile(b, e, buildExample(b, name))
			ex := AcquireExchange()
			defer ReleaseExchange(ex)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				ex.Reset()
				ex.Headers, ex.Body, ex.Config = headers, body, cfg
				if o, err := e.OnRequest(ctx, id, ex); err != nil || o.Ended {
					b.Fatal(o, err)
				}
			}
			if n := e.Stats().RequestPathInstantiations; n != 0 {
				b.Logf("request-path instantiations: %d", n)
			}
		})
	}
}
