// Package privdir makes directories in the machine's shared temporary directory that only this
// user may change. Tests keep caches there between runs (the sluice binary they execute, the
// PostgreSQL cluster template they start, compiled guests): a directory of that name that
// another user of the machine made first, or may write, would let them plant what runs.
package privdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// Make creates dir with mode 0700 unless it exists, and returns an error unless it is a
// directory (not a symbolic link), owned by this user and writable by no one else. Its parent
// must exist.
func Make(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("privdir: %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("privdir: %s is writable by other users", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("privdir: %s belongs to another user", dir)
	}
	return nil
}
