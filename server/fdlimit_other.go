//go:build !unix

package server

// raiseOpenFileLimit: no limit to raise here (0: unknown).
func raiseOpenFileLimit() uint64 { return 0 }
