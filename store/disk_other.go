//go:build !linux && !darwin

package store

import "errors"

// freeBytes cannot ask this platform's file systems: the guard never refuses.
func freeBytes(string) (uint64, error) {
	return 0, errors.New("store: free space unknown on this platform")
}
