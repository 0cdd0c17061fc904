package transforms

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCompileInfoIsContentAddressedAndIdempotent(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	wasm := testdata(t, "nop")
	sum := sha256.Sum256(wasm)
	want := "sha256:" + hex.EncodeToString(sum[:])

	info, err := e.Compile(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != want || info.Size != len(wasm) {
		t.Fatalf("info = %+v, want id %s size %d", info, want, len(wasm))
	}
	if !slices.Equal(info.Exports, []string{"sluice_on_request", "sluice_on_response"}) {
		t.Fatalf("exports = %v", info.Exports)
	}
	before := e.Stats().Instantiations
	again, err := e.Compile(context.Background(), bytes.Clone(wasm))
	if err != nil || again.ID != info.ID {
		t.Fatalf("second compile = %+v, %v", again, err)
	}
	if e.Stats().Instantiations != before {
		t.Fatal("second compile of the same bytes did work again")
	}
	if !e.Has(info.ID) || ModuleID(wasm) != info.ID {
		t.Fatal("Has/ModuleID disagree with Compile")
	}
	if got, ok := e.Info(info.ID); !ok || got.ID != info.ID {
		t.Fatal("Info lost the module")
	}
	tiny, err := e.Compile(context.Background(), testdata(t, "tiny"))
	if err != nil || !slices.Equal(tiny.Exports, []string{"sluice_on_request"}) {
		t.Fatalf("tiny = %+v, %v", tiny, err)
	}
}

func TestRemove(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	id := compile(t, e, testdata(t, "nop"))
	if !e.Remove(id) {
		t.Fatal("Remove reported absent")
	}
	if e.Has(id) || e.Remove(id) {
		t.Fatal("module still present after Remove")
	}
	if _, err := e.OnRequest(context.Background(), id, &Exchange{}); !errors.Is(err, ErrUnknownModule) {
		t.Fatalf("call after Remove: %v, want ErrUnknownModule", err)
	}
	// Compiling again after Remove works.
	if id2 := compile(t, e, testdata(t, "nop")); id2 != id {
		t.Fatal("id changed")
	}
	if _, err := e.OnRequest(context.Background(), id, &Exchange{}); err != nil {
		t.Fatal(err)
	}
}

func TestCompileRejectsInvalidModules(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{CallTimeout: 100 * time.Millisecond})
	// _initialize gets at least 2 s, which initloop spends burning a CPU: this test is about
	// the loop being stopped and the module refused, not about that bound.
	e.startLimit = e.cfg.CallTimeout
	tests := []struct {
		name   string
		wasm   []byte
		reason string
	}{
		{"unknown import", testdata(t, "badimport"), `module imports "env"."foo" which the edge does not provide`},
		{"wasi function outside the allow-list", testdata(t, "badwasi"), `module imports "wasi_snapshot_preview1"."sock_recv" which the edge does not provide`},
		{"host function with wrong signature", testdata(t, "badhostsig"), `module imports "sluice"."read" with the wrong signature`},
		{"initial memory over the limit", testdata(t, "bigmem"), "does not compile"},
		{"maximum memory over the limit", testdata(t, "bigmax"), "does not compile"},
		{"command module", testdata(t, "command"), `exports "_start"`},
		{"no entry point", testdata(t, "noentry"), "exports none of"},
		{"no memory export", testdata(t, "nomemory"), `does not export "memory"`},
		{"entry point with wrong type", testdata(t, "badentry"), "wrong signature, want () -> i32"},
		{"_initialize never returns", testdata(t, "initloop"), "does not instantiate: call timed out"},
		{"start function with a parameter", testdata(t, "badstart"), "start function has the wrong signature"},
		{"not wasm", []byte("\x7fELF not a module"), "does not compile"},
		{"empty", nil, "does not compile"},
		{"truncated", testdata(t, "tiny")[:40], "does not compile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Compile(context.Background(), tt.wasm)
			if !errors.Is(err, ErrInvalidModule) {
				t.Fatalf("err = %v, want ErrInvalidModule", err)
			}
			if !strings.Contains(err.Error(), tt.reason) || !strings.HasPrefix(err.Error(), "transforms: ") {
				t.Fatalf("err = %q, want it to name %q", err, tt.reason)
			}
			if e.Has(ModuleID(tt.wasm)) {
				t.Fatal("invalid module kept")
			}
		})
	}
	assertEngineWorks(t, e)
}

// assertEngineWorks runs the tiny transform: the engine is still usable.
func assertEngineWorks(t *testing.T, e *Engine) {
	t.Helper()
	id := compile(t, e, testdata(t, "tiny"))
	ex := &Exchange{Headers: hdr("A", "b")}
	if o, err := e.OnRequest(context.Background(), id, ex); err != nil || o.Ended {
		t.Fatalf("tiny after hostile module: %+v, %v", o, err)
	}
	if got := hdrStrings(ex.Headers); !slices.Equal(got, []string{"A: b", "x-tiny: 1"}) {
		t.Fatalf("tiny headers = %q", got)
	}
}

func TestTinyAppendsHeaderWithoutTouchingCallerBytes(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	id := compile(t, e, testdata(t, "tiny"))
	callerHeaders := hdr("Content-Type", "application/json", "X-Empty", "")
	snapshot := hdrStrings(callerHeaders)
	ex := &Exchange{Method: []byte("POST"), Path: []byte("/v1/x"), Query: []byte("a=1"), Headers: callerHeaders, Body: []byte("{}")}
	o, err := e.OnRequest(context.Background(), id, ex)
	if err != nil || o.Ended {
		t.Fatalf("%+v %v", o, err)
	}
	if ex.Changed() != PartHeaders {
		t.Fatalf("changed = %b, want only headers", ex.Changed())
	}
	want := append(snapshot, "x-tiny: 1")
	if got := hdrStrings(ex.Headers); !slices.Equal(got, want) {
		t.Fatalf("headers = %q, want %q", got, want)
	}
	if !slices.Equal(hdrStrings(callerHeaders), snapshot) {
		t.Fatal("engine wrote into caller-owned headers")
	}
	if string(ex.HeaderValue("X-TINY")) != "1" {
		t.Fatal("HeaderValue is not case-insensitive")
	}
	// The response entry point is absent.
	if _, err := e.OnResponse(context.Background(), id, ex); !errors.Is(err, ErrInvalidModule) {
		t.Fatalf("OnResponse on a request-only module: %v", err)
	}
}

func TestPoolIsWarmAfterCompile(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{PoolSize: 3})
	id := compile(t, e, testdata(t, "tiny"))
	if n := e.Stats().Instantiations; n != 3 {
		t.Fatalf("instantiations after compile = %d, want the pool size 3", n)
	}
	for i := 0; i < 50; i++ {
		if _, err := e.OnRequest(context.Background(), id, &Exchange{}); err != nil {
			t.Fatal(err)
		}
	}
	s := e.Stats()
	if s.RequestPathInstantiations != 0 || s.Instantiations != 3 || s.Calls != 50 {
		t.Fatalf("stats = %+v, want no instantiation on the request path", s)
	}
}

func TestCanceledContextFailsFast(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	id := compile(t, e, testdata(t, "nop"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.OnRequest(ctx, id, &Exchange{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if _, err := e.OnRequest(context.Background(), id, nil); err == nil {
		t.Fatal("nil exchange accepted")
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
	}{
		{"memory over 4 GiB", Config{MemoryLimitPages: 65537}},
		{"negative timeout", Config{CallTimeout: -1}},
		{"negative pool", Config{PoolSize: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(context.Background(), tt.cfg); err == nil || !strings.HasPrefix(err.Error(), "transforms: ") {
				t.Fatalf("err = %v", err)
			}
		})
	}
	c, err := Config{}.withDefaults()
	if err != nil || c.MemoryLimitPages != 512 || c.CallTimeout != time.Second || c.HighWaterPages != 256 {
		t.Fatalf("defaults = %+v, %v", c, err)
	}
}

func TestCompilationCacheDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newEngine(t, Config{CacheDir: dir})
	compile(t, e, testdata(t, "tiny"))
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("cache dir empty: %v", err)
	}
	e2 := newEngine(t, Config{CacheDir: dir})
	assertEngineWorks(t, e2)
}

func TestClosedEngine(t *testing.T) {
	t.Parallel()
	e, err := New(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	id := compile(t, e, testdata(t, "nop"))
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.OnRequest(context.Background(), id, &Exchange{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("call on closed engine: %v", err)
	}
	if _, err := e.Compile(context.Background(), testdata(t, "nop")); !errors.Is(err, ErrClosed) {
		t.Fatalf("compile on closed engine: %v", err)
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatal("second Close:", err)
	}
}

// The WASI allow-list must cover every function the Go toolchain's wasip1
// port imports, or standard Go modules would be refused after a Go upgrade.
func TestWASIAllowListCoversGoToolchain(t *testing.T) {
	t.Parallel()
	var missing []string
	found := 0
	walk := func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.Contains(path, "testdata") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil || !bytes.Contains(b, []byte("go:wasmimport wasi_snapshot_preview1 ")) {
			return nil
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) == 3 && f[0] == "//go:wasmimport" && f[1] == "wasi_snapshot_preview1" {
				found++
				if !wasiAllowed[f[2]] {
					missing = append(missing, f[2]+" ("+path+")")
				}
			}
		}
		return nil
	}
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skip(err)
	}
	goroot := strings.TrimSpace(string(out))
	for _, dir := range []string{"runtime", "syscall", "os", "internal", "net", "time"} {
		if err := filepath.WalkDir(filepath.Join(goroot, "src", dir), walk); err != nil {
			t.Skip(err)
		}
	}
	if found < 20 {
		t.Fatalf("found only %d wasmimport directives in GOROOT", found)
	}
	if len(missing) > 0 {
		t.Fatalf("Go imports WASI functions the edge refuses: %v", missing)
	}
}
