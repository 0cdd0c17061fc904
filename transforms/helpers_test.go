package transforms

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/internal/testwasm"
)

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// buildExample builds examples/<name> with GOOS=wasip1 GOARCH=wasm
// -buildmode=c-shared once per test binary (internal/testwasm).
func buildExample(t testing.TB, name string) []byte {
	t.Helper()
	return testwasm.Example(t, name)
}

// newEngine returns an Engine closed at the end of the test. Engines share
// the compilation cache of every test binary of the run (and of later runs:
// wazero keys it by the module's bytes), so each module's machine code is
// generated once; no test here depends on a compile being slow.
func newEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	if cfg.CacheDir == "" {
		cfg.CacheDir = testwasm.CompileCacheDir()
	}
	if cfg.CompileTimeout == 0 {
		cfg.CompileTimeout = testCompileTimeout
	}
	e, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

func compile(t testing.TB, e *Engine, wasm []byte) string {
	t.Helper()
	info, err := e.Compile(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	return info.ID
}

// testCompileTimeout is the CompileTimeout of the tests' engines: the default,
// except under -race, where a Go guest compiles for over 30 s on a loaded VM
// (1.5–3 s without).
var testCompileTimeout = func() time.Duration {
	if raceEnabled {
		return 10 * time.Minute
	}
	return 0
}()

// fakeServices records what the guest asked for.
type fakeServices struct {
	mu       sync.Mutex
	tokenize func(typ string, data []byte) (string, error)
	calls    []string // "type data"
	logs     []string
}

func (f *fakeServices) Tokenize(ctx context.Context, typ string, data []byte) (string, error) {
	f.mu.Lock()
	f.calls = append(f.calls, typ+" "+string(data))
	fn := f.tokenize
	f.mu.Unlock()
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	if fn == nil {
		return "", errors.New("no vault")
	}
	return fn(typ, data)
}

func (f *fakeServices) Log(msg []byte) {
	f.mu.Lock()
	f.logs = append(f.logs, string(msg))
	f.mu.Unlock()
}

func hdr(pairs ...string) []Header {
	var hs []Header
	for i := 0; i+1 < len(pairs); i += 2 {
		hs = append(hs, Header{Name: []byte(pairs[i]), Value: []byte(pairs[i+1])})
	}
	return hs
}

func hdrStrings(hs []Header) []string {
	var out []string
	for _, h := range hs {
		out = append(out, string(h.Name)+": "+string(h.Value))
	}
	return out
}
