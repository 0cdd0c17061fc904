//go:build !unix

package transforms

import "github.com/tetratelabs/wazero/experimental"

// linearMemory on platforms without mmap: a Go-heap buffer of the maximum
// size (what WithMemoryCapacityFromMax does by itself, at a higher
// instantiation cost).
type linearMemory struct{ buf []byte }

func (l *linearMemory) Allocate(_, max uint64) experimental.LinearMemory {
	l.buf = make([]byte, max)
	return l
}

func (l *linearMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(l.buf)) {
		return nil
	}
	return l.buf[:size]
}

func (l *linearMemory) Free() {}

func (l *linearMemory) release() { l.buf = nil }
