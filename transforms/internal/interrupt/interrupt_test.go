package interrupt

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/sluice-edge/sluice/internal/testwasm"
)

// Hand-assembled modules, so the tests need no wat2wasm.

func sec(id byte, body ...byte) []byte { return appendSection(nil, id, body) }

func module(secs ...[]byte) []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range secs {
		b = append(b, s...)
	}
	return b
}

var (
	typeI32ToI32 = sec(1, 1, 0x60, 1, 0x7f, 1, 0x7f) // type 0: (i32) -> i32
	oneMemory    = sec(5, 1, 0, 1)                   // (memory 1)
	exportF0     = sec(7, 1, 1, 'f', kindFunc, 0)    // (export "f" (func 0))
	funcsOfType0 = func(n int) []byte {              // n functions of type 0
		b := []byte{byte(n)}
		for range n {
			b = append(b, 0)
		}
		return sec(3, b...)
	}
)

func code(bodies ...[]byte) []byte {
	b := appendU32(nil, uint32(len(bodies)))
	for _, body := range bodies {
		body = append([]byte{0}, body...) // no locals
		b = appendU32(b, uint32(len(body)))
		b = append(b, body...)
	}
	return sec(10, b...)
}

// countdown is f(n) = n == 0 ? 0 : 1 + f(n-1)... computed with a loop:
// (local.get 0) counted down to 0 while a sum counts up.
//
//	(block (loop
//	  (br_if 1 (i32.eqz (local.get 0)))
//	  (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
//	  (br 0)))
//	(i32.const 7)
var loopBody = []byte{
	0x02, 0x40, 0x03, 0x40,
	0x20, 0, 0x45, 0x0d, 1,
	0x20, 0, 0x41, 1, 0x6b, 0x21, 0,
	0x0c, 0, 0x0b, 0x0b,
	0x41, 7, 0x0b,
}

// fanout is f(n) = n == 0 ? 1 : f(n-1) + f(n-1): 2^n calls and no loop.
var fanoutBody = []byte{
	0x20, 0, 0x45, 0x04, 0x7f, 0x41, 1,
	0x05, 0x20, 0, 0x41, 1, 0x6b, 0x10, 0, 0x20, 0, 0x41, 1, 0x6b, 0x10, 0, 0x6a,
	0x0b, 0x0b,
}

func newRuntime(t testing.TB) wazero.Runtime {
	ctx := context.Background()
	cfg := wazero.NewRuntimeConfig().WithCoreFeatures(api.CoreFeaturesV2)
	if cache, err := wazero.NewCompilationCacheWithDir(testwasm.CompileCacheDir()); err == nil {
		cfg = cfg.WithCompilationCache(cache) // the Go guests among the fixtures compile once per run
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	t.Cleanup(func() { _ = rt.Close(ctx) })
	return rt
}

// load instruments bin and instantiates it (no guest code runs).
func load(t *testing.T, bin []byte) api.Module {
	t.Helper()
	out, err := Instrument(bin, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	mod, err := newRuntime(t).Instantiate(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	return mod
}

// instantiate loads bin and clears the stop flag.
func instantiate(t *testing.T, bin []byte) (api.Module, api.MutableGlobal) {
	t.Helper()
	mod := load(t, bin)
	stop := mod.ExportedGlobal(StopGlobal).(api.MutableGlobal)
	if stop.Get() != 1 {
		t.Fatalf("stop flag starts at %d, want 1", stop.Get())
	}
	stop.Set(0)
	return mod, stop
}

func TestInstrumentedCodeComputesTheSame(t *testing.T) {
	for _, tt := range []struct {
		name    string
		body    []byte
		arg, ok uint64
	}{
		{"loop of 1M iterations", loopBody, 1 << 20, 7},
		{"call tree of 2^16 calls", fanoutBody, 16, 1 << 16},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mod, _ := instantiate(t, module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0, code(tt.body)))
			res, err := mod.ExportedFunction("f").Call(context.Background(), tt.arg)
			if err != nil || res[0] != tt.ok {
				t.Fatalf("f(%d) = %v, %v; want %d", tt.arg, res, err, tt.ok)
			}
		})
	}
}

func TestStopFlagStopsLoopsAndCallTrees(t *testing.T) {
	for _, tt := range []struct {
		name string
		body []byte
		arg  uint64
	}{
		{"endless loop", loopBody, 0xffffffff},
		{"call tree of 2^60 calls", fanoutBody, 60},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mod, stop := instantiate(t, module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0, code(tt.body)))
			timer := time.AfterFunc(20*time.Millisecond, func() { stop.Set(1) })
			defer timer.Stop()
			_, err := mod.ExportedFunction("f").Call(context.Background(), tt.arg)
			if err == nil || !strings.Contains(err.Error(), "unreachable") {
				t.Fatalf("err = %v, want the stop trap", err)
			}
		})
	}
}

func TestNothingRunsBeforeTheFlagIsCleared(t *testing.T) {
	mod := load(t, module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0, code(loopBody)))
	if _, err := mod.ExportedFunction("f").Call(context.Background(), 0); err == nil {
		t.Fatal("ran with the flag set")
	}
}

func TestStartSectionBecomesAnExport(t *testing.T) {
	// type 0 () -> (); func 0 loops for ever; (start 0)
	bin := module(sec(1, 1, 0x60, 0, 0), sec(3, 1, 0), oneMemory, sec(8, 0),
		code([]byte{0x03, 0x40, 0x0c, 0, 0x0b, 0x0b}))
	mod := load(t, bin) // instantiation runs nothing: it would never return otherwise
	start := mod.ExportedFunction(StartFunc)
	if start == nil {
		t.Fatal("start function not exported")
	}
	stop := mod.ExportedGlobal(StopGlobal).(api.MutableGlobal)
	stop.Set(0)
	timer := time.AfterFunc(20*time.Millisecond, func() { stop.Set(1) })
	defer timer.Stop()
	if _, err := start.Call(context.Background()); err == nil {
		t.Fatal("endless start function returned")
	}
}

// A loop of 32 MiB memory.fills checked only once per iteration would run
// 16384 of them (seconds each way) between two looks at the flag; the charge
// per KiB makes every such fill a yield and a look.
func TestBulkOperationsAreCharged(t *testing.T) {
	bin := module(typeI32ToI32, funcsOfType0(1),
		sec(5, 1, 0, 0x80, 0x04),          // (memory 512): 32 MiB
		sec(6, 1, 0x7f, 1, 0x41, 0, 0x0b), // (global $iterations (mut i32) (i32.const 0))
		sec(7, 2, 1, 'f', kindFunc, 0, 1, 'n', kindGlobal, 0),
		code([]byte{
			0x03, 0x40, // loop
			0x23, 0, 0x41, 1, 0x6a, 0x24, 0, // $iterations++
			0x41, 0, 0x41, 0, 0x41, 0x80, 0x80, 0x80, 0x10, 0xfc, 0x0b, 0, // memory.fill 0, 0, 32 MiB
			0x0c, 0, 0x0b, // br 0, end
			0x41, 0, 0x0b,
		}))
	mod, stop := instantiate(t, bin)
	timer := time.AfterFunc(20*time.Millisecond, func() { stop.Set(1) })
	defer timer.Stop()
	if _, err := mod.ExportedFunction("f").Call(context.Background(), 0); err == nil {
		t.Fatal("endless fills returned")
	}
	if n := mod.ExportedGlobal("n").Get(); n > 1000 {
		t.Fatalf("%d fills ran before the flag was seen", n)
	}
}

// Encodings wazero reads differently from the format's grammar must be
// refused, or the two decoders would disagree on where instructions start.
func TestDecoderAgreesWithWazero(t *testing.T) {
	body := func(b ...byte) []byte {
		return module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0, code(b))
	}
	rt := newRuntime(t)
	for _, tt := range []struct {
		name string
		bin  []byte
		ok   bool
	}{
		// wazero reads a SIMD opcode as one byte: fd 8c 00 is i16x8.shr_s
		// then unreachable to it, v128.const (12, padded) to a LEB reader.
		{"padded SIMD opcode", body(0xfd, 0x8c, 0x00, 0x41, 0, 0x0b), false},
		{"two-byte SIMD opcode", body(0xfd, 0x0c, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
			0xfd, 0x0c, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
			0xfd, 0xb1, 0x01, 0x1a, 0x41, 0, 0x0b), true}, // two v128.const; i32x4.sub (177); drop
		// A typed-reference block type is followed by a heap type, which a
		// decoder reading a type index would take for instructions.
		{"(ref null T) block type", body(0x02, 0xe3, 0x7f, 0x00, 0x0b, 0x41, 0, 0x0b), false},
		{"i32 block type written in two bytes", body(0x02, 0xff, 0x7f, 0x41, 1, 0x0b, 0x0b), true},
		{"typed-reference local", module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0,
			sec(10, 1, 7, 1, 1, 0x63, 0x70, 0x41, 0, 0x0b)), false},
		{"local count written in two bytes", module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0,
			sec(10, 1, 7, 0x81, 0x00, 1, 0x7f, 0x20, 1, 0x0b)), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Instrument(tt.bin, DefaultLimits)
			if !tt.ok {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := rt.CompileModule(context.Background(), tt.bin); err != nil {
				t.Fatalf("the fixture itself does not compile: %v", err)
			}
			if _, err := rt.CompileModule(context.Background(), out); err != nil {
				t.Fatalf("instrumented module does not compile: %v", err)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	valid := module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0, code(loopBody))
	for _, tt := range []struct {
		name string
		bin  []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"not wasm", []byte("\x7fELF and more"), ErrMalformed},
		{"truncated", valid[:len(valid)-3], ErrMalformed},
		{"no memory", module(typeI32ToI32, funcsOfType0(1), exportF0, code(loopBody)), ErrNoMemory},
		{"reserved export name", module(typeI32ToI32, funcsOfType0(1), oneMemory,
			sec(7, 1, byte(len(StopGlobal)), 's', 'l', 'u', 'i', 'c', 'e', ':', 's', 't', 'o', 'p', kindFunc, 0),
			code(loopBody)), ErrMalformed},
		{"exports the added global", module(typeI32ToI32, funcsOfType0(1), oneMemory,
			sec(7, 1, 1, 'g', kindGlobal, 0), code(loopBody)), ErrMalformed},
		{"sets the added global", module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0,
			code([]byte{0x41, 0, 0x24, 1, 0x41, 0, 0x0b})), ErrMalformed},
		{"reads the added global", module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0,
			code([]byte{0x23, 0, 0x0b})), ErrMalformed},
		{"tail call (not WebAssembly 2.0)", module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0,
			code([]byte{0x20, 0, 0x12, 0, 0x0b})), ErrMalformed},
		{"bytes after the body's end", module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0,
			code([]byte{0x41, 0, 0x0b, 0x01})), ErrMalformed},
		{"sections out of order", module(typeI32ToI32, oneMemory, funcsOfType0(1), exportF0, code(loopBody)), ErrMalformed},
		{"overlong integer", module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0,
			code([]byte{0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x0b})), ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Instrument(tt.bin, DefaultLimits); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// fixtures are the hostile test modules (committed .wasm files) and two of
// the example transforms, standard Go guests built by the test's own Go
// toolchain (internal/testwasm; examples/build is not committed).
func fixtures(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	names, _ := filepath.Glob("../../testdata/*.wasm")
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	if len(out) < 20 {
		t.Fatalf("found only %d test modules", len(out))
	}
	for _, name := range []string{"hmac-sign", "vault-response"} {
		out["example "+name] = testwasm.Example(t, name)
	}
	return out
}

// Every module wazero compiles still compiles once instrumented, and every
// function body and loop carries the check.
func TestEveryFixtureStillCompiles(t *testing.T) {
	rt := newRuntime(t)
	ctx := context.Background()
	for name, bin := range fixtures(t) {
		if _, err := rt.CompileModule(ctx, bin); err != nil {
			continue // a fixture that is meant not to compile
		}
		out, err := Instrument(bin, DefaultLimits)
		if errors.Is(err, ErrNoMemory) {
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := rt.CompileModule(ctx, out); err != nil {
			t.Fatalf("%s: instrumented module does not compile: %v", name, err)
		}
	}
}
