package transforms

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
)

// wazeroCallAllocs measures the allocations wazero itself makes for one call
// of a no-op export when, like the Engine, it must be able to interrupt the
// guest (WithCloseOnContextDone: a watcher goroutine and channel per call).
// It is the floor the Engine's pooled call is compared against.
func wazeroCallAllocs(t *testing.T) float64 {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true))
	defer rt.Close(ctx)
	mod, err := rt.Instantiate(ctx, testdata(t, "nop"))
	if err != nil {
		t.Fatal(err)
	}
	fn := mod.ExportedFunction("sluice_on_request")
	stack := make([]uint64, 1)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	return testing.AllocsPerRun(1000, func() {
		if err := fn.CallWithStack(cctx, stack); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPooledTinyCallAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	floor := wazeroCallAllocs(t)
	e := newEngine(t, Config{})
	ctx := context.Background()
	for _, name := range []string{"nop", "tiny"} {
		id := compile(t, e, testdata(t, name))
		ex := AcquireExchange()
		headers := hdr("Content-Type", "application/json", "X-Request-Id", "abc")
		method, path, body := []byte("POST"), []byte("/v1/charges"), []byte(`{"amount":10}`)
		run := func() {
			ex.Reset()
			ex.Method, ex.Path, ex.Headers, ex.Body = method, path, headers, body
			if _, err := e.OnRequest(ctx, id, ex); err != nil {
				t.Fatal(err)
			}
		}
		run()
		got := testing.AllocsPerRun(1000, run)
		t.Logf("%s: %.1f allocs per pooled call, wazero's own floor %.1f", name, got, floor)
		if got > floor {
			t.Errorf("%s: host side allocates: %.1f allocs per call, wazero's floor is %.1f", name, got, floor)
		}
		ReleaseExchange(ex)
	}
	if n := e.Stats().RequestPathInstantiations; n != 0 {
		t.Errorf("request-path instantiations = %d, want 0", n)
	}
}
