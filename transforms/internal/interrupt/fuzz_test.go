package interrupt

import (
	"context"
	"errors"
	"testing"
)

// FuzzInstrument: Instrument never panics, and a module wazero compiles
// still compiles once instrumented (the rewrite never breaks a valid module,
// e.g. by misreading an immediate).
func FuzzInstrument(f *testing.F) {
	for _, bin := range fixtures(f) {
		if len(bin) < 4096 { // the hostile test modules; not the Go guests
			f.Add(bin)
		}
	}
	f.Add(module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0, code(loopBody)))
	f.Add(module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0, code(fanoutBody)))
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, bin []byte) {
		// A runtime per input: one shared by every input grows without
		// bound (gigabytes within a minute).
		rt := newRuntime(t)
		out, err := Instrument(bin)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNoMemory) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrNoMemory", err)
			}
			return
		}
		if _, err := rt.CompileModule(ctx, bin); err == nil {
			if _, err := rt.CompileModule(ctx, out); err != nil {
				t.Fatalf("valid module no longer compiles: %v", err)
			}
		}
	})
}
