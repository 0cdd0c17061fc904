package server

import (
	"os"
	"syscall"
	"testing"
)

// ramDir is where test edges keep their vaults when the machine has a RAM file system with
// room: each edge writes and fsyncs its vault, and on a virtual machine's disk an fsync is CPU
// in the file system's journal and a wait; what these tests assert is the edge, not the disk's
// durability (the process tests kill -9 on the real disk). A third of an edge's CPU here.
const ramDir = "/dev/shm"

// ramDirRoom is the free space ramDir must have (a container's /dev/shm can be 64 MiB, less
// than the disk reserve an edge keeps).
const ramDirRoom = 2 << 30

// edgeDataDir is a new, empty directory for one edge's vault, removed when t ends: under ramDir
// when it has room, else t.TempDir.
func edgeDataDir(t *testing.T) string {
	t.Helper()
	var fs syscall.Statfs_t
	if syscall.Statfs(ramDir, &fs) == nil && int64(fs.Bavail)*int64(fs.Bsize) >= ramDirRoom {
		if dir, err := os.MkdirTemp(ramDir, "sluice-edge-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}
