package transforms

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/sluice-edge/sluice/transforms/internal/interrupt"
)

// wazeroCallAllocs measures the allocations wazero itself makes for one call
// of a no-op export instrumented like the Engine's modules. It is the floor
// the Engine's pooled call is compared against.
func wazeroCallAllocs(t *testing.T) float64 {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	bin, err := interrupt.Instrument(testdata(t, "nop"), interrupt.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	mod, err := rt.Instantiate(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	mod.ExportedGlobal(interrupt.StopGlobal).(api.MutableGlobal).Set(0)
	fn := mod.ExportedFunction("sluice_on_request")
	stack := make([]uint64, 1)
	return testing.AllocsPerRun(1000, func() {
		if err := fn.CallWithStack(ctx, stack); err != nil {
			t.Fatal(err)
		}
	})
}

// Not parallel (nor the react one): AllocsPerRun counts every goroutine's allocations.
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
			ex.Method, ex.Path, ex.Body = method, path, body
			for _, h := range headers { // as the server fills them
				ex.AddHeader(h.Name, h.Value)
			}
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
