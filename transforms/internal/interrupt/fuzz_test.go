package interrupt

import (
	"context"
	"errors"
	"testing"
)

// FuzzInstrument: Instrument never panics, and a module wazero compiles
// still compiles once instrumented (the rewrite never breaks a valid module,
// e.g. by misreading an immediate). Under small Limits a module is refused
// with ErrOverLimit or accepted with a shape within them — the shape
// measured being the one the bounds were checked against.
func FuzzInstrument(f *testing.F) {
	for _, bin := range fixtures(f) {
		if len(bin) < 4096 { // the hostile test modules; not the Go guests
			f.Add(bin)
		}
	}
	f.Add(module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0, code(loopBody)))
	f.Add(module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0, code(fanoutBody)))
	// Encodings where a decoder could disagree with wazero's: SIMD opcodes
	// (one byte to wazero), block types, bulk operations.
	f.Add(module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0, code([]byte{
		0xfd, 0x0c, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0xfd, 0x61, 0x1a,
		0x02, 0xff, 0x7f, 0x41, 0, 0x41, 0, 0x41, 8, 0xfc, 0x0b, 0, 0x41, 1, 0x0b, 0x0b})))
	f.Add(module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0, code(nestedBlocks(9))))
	f.Add(module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0, code(brTable(9))))
	f.Add(module(typeI32ToI32, funcsOfType0(3), oneMemory, exportF0, code(loopBody, brTable(2), nestedBlocks(2))))
	f.Add(module( // an import called directly and through a table: the stop checks after calls
		sec(1, 2, 0x60, 0, 0, 0x60, 1, 0x7f, 1, 0x7f), sec(2, 1, 3, 'e', 'n', 'v', 1, 'h', kindFunc, 0),
		sec(3, 1, 1), sec(4, 1, 0x70, 0, 1), oneMemory, sec(7, 1, 1, 'f', kindFunc, 1),
		sec(9, 1, 0, 0x41, 0, opEnd, 1, 0), code([]byte{0x10, 0, 0x41, 0, 0x11, 0, 0, 0x41, 0, opEnd})))
	small := Limits{Functions: 2, BodyBytes: 48, Locals: 3, ControlFlow: 6}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, bin []byte) {
		_, seen, err := instrument(bin, small)
		if err == nil && (seen.functions > small.Functions || seen.bodyBytes > small.BodyBytes ||
			seen.locals > small.Locals || seen.controlFlow > small.ControlFlow) {
			t.Fatalf("accepted %+v under %+v", seen, small)
		}
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNoMemory) && !errors.Is(err, ErrOverLimit) {
			t.Fatalf("error %v wraps none of the package's errors", err)
		}
		// A runtime per input: one shared by every input grows without
		// bound (gigabytes within a minute).
		rt := newRuntime(t)
		out, err := Instrument(bin, DefaultLimits)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNoMemory) && !errors.Is(err, ErrOverLimit) {
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
