package store

import (
	"os"
	"testing"

	"github.com/sluice-edge/sluice/internal/ramdir"
)

// vaultDir is a new, empty directory for a test's vault, removed when t ends: in RAM when the
// machine has room (ramdir), else t.TempDir. On the VM's disk every fsync of a small vault
// costs journal CPU and a wait, and what these tests assert is the vault, not the disk.
func vaultDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp(ramdir.Parent(), "sluice-store-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// VaultDir is vaultDir for the tests of package store_test.
func VaultDir(t testing.TB) string { return vaultDir(t) }
