//go:build unix

package testwasm

import (
	"os"
	"syscall"
)

// lockFile holds an exclusive lock on path until the returned function runs; another test binary
// asking for it waits.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
