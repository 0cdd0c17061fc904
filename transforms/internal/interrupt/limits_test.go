package interrupt

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/sluice-edge/sluice/internal/testwasm"
)

// nestedBlocks is a body of n nested empty blocks returning i32 0.
func nestedBlocks(n int) []byte {
	b := make([]byte, 0, 3*n+3)
	for range n {
		b = append(b, 0x02, 0x40)
	}
	for range n {
		b = append(b, opEnd)
	}
	return append(b, 0x41, 0, opEnd)
}

// brTable is a body with one br_table of n targets (all to the function's
// outer block) returning i32 0.
func brTable(n int) []byte {
	b := []byte{0x02, 0x40, 0x41, 0, 0x0e}
	b = appendU32(b, uint32(n))
	b = append(b, make([]byte, n+1)...) // n targets and the default, all 0
	return append(b, opEnd, 0x41, 0, opEnd)
}

// The shapes that made wazero compile for tens of seconds (80 000 nested
// blocks: 22 s; a br_table of 4M targets: never finished) are refused while
// the module is parsed, before any compiling.
func TestCompileBombsRefusedByShape(t *testing.T) {
	lim := DefaultLimits
	noBodyLimit := lim
	noBodyLimit.BodyBytes = 0 // the 4M targets take 4 MB
	for _, tt := range []struct {
		name string
		bin  []byte
		what string
		lim  *Limits
	}{
		{"80k nested blocks", module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0, code(nestedBlocks(80_000))), "blocks", nil},
		{"4M-target br_table", module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0, code(brTable(4_000_000))), "br_table", &noBodyLimit},
		{"blocks and targets together", module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0,
			code(append(nestedBlocks(lim.ControlFlow / 2)[:3*(lim.ControlFlow/2)], brTable(lim.ControlFlow/2+1)...))), "br_table", nil},
		{"too many functions", module(typeI32ToI32, sec(3, append(appendU32(nil, uint32(lim.Functions+1)), make([]byte, lim.Functions+1)...)...), oneMemory), "functions", nil},
		{"huge body", module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0,
			code(append(make([]byte, lim.BodyBytes), 0x41, 0, opEnd))), "body", nil},
		{"too many locals", module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0,
			sec(10, append(append([]byte{1, 8, 1}, appendU32(nil, uint32(lim.Locals))...), 0x7f, 0x41, 0, opEnd)...)), "locals", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := lim
			if tt.lim != nil {
				l = *tt.lim
			}
			if _, err := Instrument(tt.bin, l); !errors.Is(err, ErrOverLimit) || !strings.Contains(err.Error(), tt.what) {
				t.Fatalf("err = %v, want ErrOverLimit naming %q", err, tt.what)
			}
		})
	}
	// Just within the bound is accepted.
	if _, err := Instrument(module(typeI32ToI32, funcsOfType0(1), oneMemory, exportF0,
		code(nestedBlocks(lim.ControlFlow))), lim); err != nil {
		t.Fatalf("a function at the bound: %v", err)
	}
}

// Go guests stay far within the bounds: the limits refuse nothing real.
func TestDefaultLimitsFitGoGuests(t *testing.T) {
	for _, name := range []string{"hmac-sign", "vault-response"} {
		_, seen, err := instrument(testwasm.Example(t, name), DefaultLimits)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %+v", name, seen)
		lim := DefaultLimits
		if seen.controlFlow*4 > lim.ControlFlow || seen.bodyBytes*8 > lim.BodyBytes ||
			seen.functions*8 > lim.Functions || seen.locals*8 > lim.Locals {
			t.Fatalf("%s: %+v is not well within %+v", name, seen, lim)
		}
	}
}

// A guest looping over a host call looks at the stop flag each time the
// call returns, not only at its next yield (16 384 calls later): the
// host's time counts against the deadline. Direct and indirect calls alike.
func TestHostCallsAreFollowedByAStopCheck(t *testing.T) {
	// type 0: () -> (); type 1: (i32) -> i32; import "env" "h" (type 0);
	// func 1 (type 1): loop { call 0 | call_indirect 0 (i32.const 0) } for ever
	// table of one funcref holding the import.
	for _, tt := range []struct {
		name string
		call []byte
	}{
		{"call", []byte{0x10, 0}},
		{"call_indirect", []byte{0x41, 0, 0x11, 0, 0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := append([]byte{0x03, 0x40}, tt.call...)
			body = append(body, 0x0c, 0, opEnd, 0x41, 0, opEnd)
			bin := module(
				sec(1, 2, 0x60, 0, 0, 0x60, 1, 0x7f, 1, 0x7f),
				sec(2, 1, 3, 'e', 'n', 'v', 1, 'h', kindFunc, 0),
				sec(3, 1, 1),
				sec(4, 1, 0x70, 0, 1), // (table 1 funcref)
				oneMemory,
				sec(7, 1, 1, 'f', kindFunc, 1),
				sec(9, 1, 0, 0x41, 0, opEnd, 1, 0), // (elem (i32.const 0) func 0)
				code(body))
			out, err := Instrument(bin, DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			rt := newRuntime(t)
			var calls atomic.Int64
			var stop api.MutableGlobal
			const setAt = 10
			_, err = rt.NewHostModuleBuilder("env").NewFunctionBuilder().
				WithFunc(func() {
					if calls.Add(1) == setAt {
						stop.Set(1) // as the timer does, while the host call runs
					}
				}).Export("h").Instantiate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			mod, err := rt.Instantiate(ctx, out)
			if err != nil {
				t.Fatal(err)
			}
			stop = mod.ExportedGlobal(StopGlobal).(api.MutableGlobal)
			stop.Set(0)
			done := make(chan error, 1)
			go func() { _, err := mod.ExportedFunction("f").Call(ctx, 0); done <- err }()
			select {
			case err = <-done:
			case <-time.After(time.Minute): // the old rewrite ran 16 374 more calls, then stopped too
				t.Fatal("the guest did not stop")
			}
			if err == nil || calls.Load() != setAt {
				t.Fatalf("err = %v after %d host calls, want the stop trap right after call %d", err, calls.Load(), setAt)
			}
		})
	}
}
