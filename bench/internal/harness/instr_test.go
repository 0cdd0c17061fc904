package harness

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCallgrindTotal reads the totals line of a callgrind dump, and refuses a dump that has
// none yet (callgrind writes it last).
func TestCallgrindTotal(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	os.WriteFile(full, []byte("# callgrind format\nversion: 1\nevents: Ir\nfn=(1) main.main\n3 120\nsummary: 27241239\n\ntotals: 27241239\n"), 0o644)
	if n, err := callgrindTotal(full); err != nil || n != 27241239 {
		t.Fatalf("%d %v", n, err)
	}
	partial := filepath.Join(dir, "partial")
	os.WriteFile(partial, []byte("# callgrind format\nevents: Ir\nfn=(1) main.main\n"), 0o644)
	if _, err := callgrindTotal(partial); err == nil {
		t.Fatal("a dump without totals was read")
	}
	if _, err := callgrindTotal(filepath.Join(dir, "none")); err == nil {
		t.Fatal("a missing dump was read")
	}
}
