package transforms

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/transforms/internal/abi"
)

// callOnce builds a module whose sluice_on_request calls the import mod.name once with args
// (all i32, one i32 result) and returns that result: the host's answer comes back as the
// "guest returned N" of a failed call.
func callOnce(mod, name string, args ...uint32) []byte {
	uleb := func(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }
	str := func(b []byte, s string) []byte { return append(uleb(b, uint64(len(s))), s...) }
	section := func(b []byte, id byte, body []byte) []byte {
		return append(uleb(append(b, id), uint64(len(body))), body...)
	}
	typ := []byte{2, 0x60, byte(len(args))}
	for range args {
		typ = append(typ, 0x7f)
	}
	typ = append(typ, 1, 0x7f, 0x60, 0, 1, 0x7f) // type 0: the import; type 1: () -> i32
	body := []byte{0}
	for _, a := range args {
		body = appendSLEB(append(body, 0x41), int32(a)) // i32.const
	}
	body = append(body, 0x10, 0, 0x0b) // call 0, end
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = section(m, 1, typ)
	m = section(m, 2, append(str(str([]byte{1}, mod), name), 0, 0))
	m = section(m, 3, []byte{1, 1})
	m = section(m, 5, []byte{1, 0, 0x80, 0x04}) // (memory 512): 32 MiB
	m = section(m, 7, append(str(append(str([]byte{2}, "memory"), 2, 0), "sluice_on_request"), 0, 1))
	return section(m, 10, append(uleb([]byte{1}, uint64(len(body))), body...))
}

// Every host function whose work the guest sizes refuses an argument over its per-call cap
// before doing the work, so that no single host call can run long past the deadline.
func TestHostCallCapsRefuseBeforeWork(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{MaxBodyBytes: 1 << 20})
	for _, tt := range []struct {
		name string
		wasm []byte
		want int32
	}{
		{"random_get over 1 MiB", callOnce(abi.WASIModule, "random_get", 0, abi.MaxRandomBytes+1), errnoInval},
		{"random_get of 1 MiB", callOnce(abi.WASIModule, "random_get", 0, abi.MaxRandomBytes), errnoSuccess},
		{"fd_write of too many iovecs", callOnce(abi.WASIModule, "fd_write", 1, 0, abi.MaxIovecs+1, 0), errnoInval},
		{"body write over MaxBodyBytes", callOnce(abi.ImportModule, abi.FuncWrite, abi.WhatBody, 0, 1<<20+1), abi.ErrTooLarge},
		{"headers block over its cap", callOnce(abi.ImportModule, abi.FuncWrite, abi.WhatHeaders, 0, abi.MaxHeaderBlockBytes+1), abi.ErrTooLarge},
		{"path over its cap", callOnce(abi.ImportModule, abi.FuncWrite, abi.WhatPath, 0, abi.MaxPathBytes+1), abi.ErrTooLarge},
		{"config name over its cap", callOnce(abi.ImportModule, abi.FuncConfig, 0, abi.MaxConfigNameBytes+1, 0, 0), abi.ErrTooLarge},
		{"tokenize data over its cap", callOnce(abi.ImportModule, abi.FuncTokenize, 0, 5, 0, abi.MaxTokenizeBytes+1, 0, 0), abi.ErrTooLarge},
		{"end payload over its cap", callOnce(abi.ImportModule, abi.FuncEnd, abi.KindCustomResponse, 0, 1<<20+abi.MaxHeaderBlockBytes+1), abi.ErrTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			svc := &fakeServices{}
			_, err := e.OnRequest(context.Background(), compile(t, e, tt.wasm), &Exchange{Services: svc})
			want := fmt.Sprintf("guest returned %d,", tt.want)
			switch {
			case tt.want == 0 && err != nil: // 0 is continue
				t.Fatalf("err = %v, want success", err)
			case tt.want != 0 && (err == nil || !strings.Contains(err.Error(), want)):
				t.Fatalf("err = %v, want %q", err, want)
			}
			if len(svc.calls) != 0 {
				t.Fatalf("the vault was asked: %v", svc.calls)
			}
		})
	}
}

// A guest looping over tokenize gets MaxTokens tokens per call and no more: the count is
// checked before the vault is asked; then the loop runs into the deadline.
func TestTokensPerCallCapped(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{MaxTokens: 5, CallTimeout: time.Minute})
	id := compile(t, e, testdata(t, "tokloop"))
	for call := 0; call < 2; call++ {
		// The loop burns a CPU until the caller's deadline: a short one, longer only when a
		// loaded machine gave the guest too little of it to reach the cap.
		for limit := 20 * time.Millisecond; ; limit *= 2 {
			asked := tokloopAsks(t, e, id, limit)
			if asked > 5 {
				t.Fatalf("call %d: the vault was asked %d times, want 5", call, asked)
			}
			if asked == 5 {
				break
			}
			if limit > 5*time.Second {
				t.Fatalf("call %d: the vault was asked %d times in %v, want 5", call, asked, limit)
			}
		}
	}
}

// tokloopAsks runs tokloop until limit and returns how often it got to ask the vault.
func tokloopAsks(t *testing.T, e *Engine, id string, limit time.Duration) int {
	t.Helper()
	svc := &fakeServices{tokenize: func(string, []byte) (string, error) { return "tok", nil }}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	_, err := e.OnRequest(ctx, id, &Exchange{Services: svc})
	if !errors.Is(err, ErrTransformFailed) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	return len(svc.calls)
}

func appendSLEB(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 && c&0x40 == 0 || v == -1 && c&0x40 != 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
