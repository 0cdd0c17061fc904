package server

import (
	"os"
	"testing"

	"github.com/sluice-edge/sluice/internal/ramdir"
)

// edgeDataDir is a new, empty directory for one edge's vault, removed when t ends: in RAM when
// the machine has room (ramdir), else t.TempDir. A third of an edge's CPU here was its disk.
func edgeDataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp(ramdir.Parent(), "sluice-edge-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
