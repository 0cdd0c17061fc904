// Package testwasm builds the example transforms for tests: once per test binary, into a
// temporary directory, with the Go toolchain that runs the tests (GOOS=wasip1 GOARCH=wasm,
// -buildmode=c-shared). Tests need no prebuilt modules and no tool beyond Go.
package testwasm

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

type built struct {
	once sync.Once
	wasm []byte
	err  error
}

var (
	mu     sync.Mutex
	cache  = map[string]*built{}
	tmpDir string
)

// Example returns the module built from <repo>/examples/<name>.
func Example(t testing.TB, name string) []byte {
	t.Helper()
	mu.Lock()
	b := cache[name]
	if b == nil {
		b = new(built)
		cache[name] = b
	}
	if tmpDir == "" {
		d, err := os.MkdirTemp("", "sluice-testwasm-")
		if err != nil {
			mu.Unlock()
			t.Fatal(err)
		}
		tmpDir = d
	}
	dir := tmpDir
	mu.Unlock()
	b.once.Do(func() {
		root, err := repoRoot()
		if err != nil {
			b.err = err
			return
		}
		out := filepath.Join(dir, name+".wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", out, "./examples/"+name)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			b.err = fmt.Errorf("building %s: %v\n%s", name, err, stderr.String())
			return
		}
		b.wasm, b.err = os.ReadFile(out)
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.wasm
}

// repoRoot finds the directory holding go.mod above the working directory.
func repoRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("testwasm: no go.mod above the working directory")
		}
		d = parent
	}
}
