//go:build unix

package transforms

import (
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// linearMemory backs one instance's linear memory with an anonymous private
// mapping of the module's maximum size (at most MemoryLimitPages), reserved
// but not committed: the kernel provides zeroed pages as the guest touches
// them, the memory never moves when the guest grows it (the guarantee of
// WithMemoryCapacityFromMax), and discarding the instance gives its pages
// straight back to the OS.
//
// Measured with a 32 MiB limit: instantiating through the default Go-heap
// buffer of max capacity costs ~18 ms (allocating and zeroing 32 MiB, GC
// pressure), through this mapping ~0.1 ms.
//
// wazero calls Free when it closes the module, which can happen on another
// goroutine while the guest still runs (the call timeout closes it), so Free
// does nothing; the instance unmaps in release, once no call can run.
type linearMemory struct {
	buf    []byte // the whole mapping
	mapped bool
}

func (l *linearMemory) Allocate(_, max uint64) experimental.LinearMemory {
	if max > 0 && max <= 1<<32 {
		b, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE,
			syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
		if err == nil {
			l.buf, l.mapped = b, true
			return l
		}
	}
	l.buf = make([]byte, max) // no mapping possible: Go heap, same semantics
	return l
}

func (l *linearMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(l.buf)) {
		return nil
	}
	return l.buf[:size]
}

func (l *linearMemory) Free() {}

// release unmaps the memory. Only after the instance's last call returned.
func (l *linearMemory) release() {
	if l.mapped {
		_ = syscall.Munmap(l.buf)
	}
	l.buf, l.mapped = nil, false
}

var _ experimental.MemoryAllocator = (*linearMemory)(nil)
