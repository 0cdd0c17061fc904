//go:build linux || darwin

package store

import "syscall"

// freeBytes is the space on dir's file system available to unprivileged users.
func freeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}
