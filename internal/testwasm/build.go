// Package testwasm builds Go guests (the example transforms, the bench guest) for tests with the
// Go toolchain that runs the tests (GOOS=wasip1 GOARCH=wasm, -buildmode=c-shared). Tests need no
// prebuilt modules and no tool beyond Go.
//
// A `go test ./...` runs several test binaries that each need the same guests, side by side. Each
// module is therefore built once per source: it is cached in the temporary directory under a hash
// of everything the build reads (the toolchain, go.mod/go.sum, the Go files of every package of the
// module it imports), and a file lock makes concurrent test binaries wait for the one building.
package testwasm

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-edge/sluice/internal/privdir"
)

type built struct {
	once sync.Once
	wasm []byte
	err  error
}

var (
	mu    sync.Mutex
	cache = map[string]*built{}
)

// Example returns the module built from <repo>/examples/<name>.
func Example(t testing.TB, name string) []byte {
	t.Helper()
	return Build(t, "examples/"+name)
}

// CompileCacheDir is a compilation cache for the engines of tests, shared by every test binary of
// a run (wazero keys it by module bytes, its version and the CPU), so each guest compiles once.
// "" (no shared cache) when the shared directory is not this user's alone: wazero runs the
// machine code it finds there.
func CompileCacheDir() string {
	shared := filepath.Join(os.TempDir(), "sluice-testwasm")
	if privdir.Make(shared) != nil {
		return ""
	}
	return filepath.Join(shared, "wazero-"+runtime.Version())
}

// Build returns the module built from the package in dir, relative to the repository root.
func Build(t testing.TB, dir string) []byte {
	t.Helper()
	mu.Lock()
	b := cache[dir]
	if b == nil {
		b = new(built)
		cache[dir] = b
	}
	mu.Unlock()
	b.once.Do(func() { b.wasm, b.err = buildCached(dir) })
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.wasm
}

func buildCached(dir string) ([]byte, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	sum, err := sourceHash(root, dir)
	if err != nil {
		return nil, err
	}
	cacheDir := filepath.Join(os.TempDir(), "sluice-testwasm")
	if err := privdir.Make(cacheDir); err != nil { // a module planted there would run as ours
		return nil, fmt.Errorf("testwasm: %w (set TMPDIR to a directory of your own)", err)
	}
	out := filepath.Join(cacheDir, strings.ReplaceAll(dir, "/", "_")+"-"+sum+".wasm")
	unlock, err := lockFile(out + ".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	if wasm, err := os.ReadFile(out); err == nil {
		return wasm, nil
	}
	tmp := fmt.Sprintf("%s.%d.tmp", out, os.Getpid())
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", tmp, "./"+dir)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("testwasm: building %s: %v\n%s", dir, err, stderr.String())
	}
	if err := os.Rename(tmp, out); err != nil {
		return nil, err
	}
	return os.ReadFile(out)
}

// sourceHash names one build: the toolchain, the module files, and the Go files of every package
// of this module the guest depends on (as `go list -deps` sees them for wasip1).
func sourceHash(root, dir string) (string, error) {
	dirs, err := guestDeps(root, dir)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s %s %s\n", runtime.Version(), os.Getenv("GOFLAGS"), dir)
	files := []string{filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum")}
	for _, d := range dirs {
		goFiles, _ := filepath.Glob(filepath.Join(d, "*.go"))
		files = append(files, goFiles...)
	}
	sort.Strings(files)
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return "", err
		}
		fmt.Fprintf(h, "%s\n", name)
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:12]), nil
}

// listed maps a package directory to the directories of the non-standard packages it builds
// from, itself included, for every guest one `go list` has seen.
var listed = map[string][]string{}

// guestDeps is the directories dir builds from. Its first call lists every example with dir in
// one `go list` (each costs a tenth of a second of CPU, and a test binary builds several).
func guestDeps(root, dir string) ([]string, error) {
	mu.Lock()
	defer mu.Unlock()
	abs := filepath.Join(root, dir)
	if deps, ok := listed[abs]; ok {
		return deps, nil
	}
	patterns := []string{"./" + dir}
	if fi, err := os.Stat(filepath.Join(root, "examples")); err == nil && fi.IsDir() {
		patterns = append(patterns, "./examples/...")
	}
	args := append([]string{"list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}\t{{.Dir}}\t{{join .Deps \" \"}}{{end}}"}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("testwasm: listing %s: %v\n%s", dir, err, stderr.String())
	}
	type pkg struct{ dir, deps string }
	pkgs := map[string]pkg{} // by import path
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.SplitN(line, "\t", 3); len(f) == 3 {
			pkgs[f[0]] = pkg{f[1], f[2]}
		}
	}
	for _, p := range pkgs {
		dirs := []string{p.dir}
		for _, d := range strings.Fields(p.deps) {
			if q, ok := pkgs[d]; ok { // a standard package is not listed
				dirs = append(dirs, q.dir)
			}
		}
		listed[p.dir] = dirs
	}
	deps, ok := listed[abs]
	if !ok {
		return nil, fmt.Errorf("testwasm: go list does not name %s", dir)
	}
	return deps, nil
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
