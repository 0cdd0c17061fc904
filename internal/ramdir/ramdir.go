// Package ramdir says where tests keep the files of the vaults and PostgreSQL clusters they
// start: in the machine's RAM file system when it has room. On a virtual machine's disk every
// fsync and every file written costs journal CPU and a wait, and what those tests assert is the
// edge or the vault, not the disk's durability (the process tests that kill -9 or fill a disk
// keep the real file systems).
package ramdir

import (
	"os"
	"syscall"
)

// Dir is the RAM file system tests use when it has Room free; a container's /dev/shm can be
// 64 MiB, less than the disk reserve an edge keeps.
const (
	Dir  = "/dev/shm"
	Room = 2 << 30
)

// Parent is the directory to make a test's vault or cluster directory in: Dir when it has Room
// free, else the temporary directory.
func Parent() string {
	var fs syscall.Statfs_t
	if syscall.Statfs(Dir, &fs) == nil && int64(fs.Bavail)*int64(fs.Bsize) >= Room {
		return Dir
	}
	return os.TempDir()
}
