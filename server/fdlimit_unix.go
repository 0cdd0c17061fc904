//go:build unix

package server

import "syscall"

// raiseOpenFileLimit lifts the soft limit on open files to the hard limit and returns the
// limit in force (0: unknown). Go's runtime already lifts it to one below the hard limit;
// doing it here makes the edge's own choice explicit and lets it size its connection cap.
func raiseOpenFileLimit() uint64 {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) != nil {
		return 0
	}
	if l.Cur < l.Max {
		raised := syscall.Rlimit{Cur: l.Max, Max: l.Max}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			l = raised
		}
	}
	return l.Cur
}
