package harness

import (
	"fmt"
	"math/bits"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// cpuMask is a sched_{get,set}affinity(2) mask of up to 1024 CPUs.
type cpuMask [16]uint64

func (m *cpuMask) highest() int {
	for i := len(m) - 1; i >= 0; i-- {
		if m[i] != 0 {
			return i*64 + 63 - bits.LeadingZeros64(m[i])
		}
	}
	return -1
}

func affinity(tid int, set bool, m *cpuMask) error {
	nr := uintptr(syscall.SYS_SCHED_GETAFFINITY)
	if set {
		nr = syscall.SYS_SCHED_SETAFFINITY
	}
	if _, _, e := syscall.RawSyscall(nr, uintptr(tid), unsafe.Sizeof(*m), uintptr(unsafe.Pointer(m))); e != 0 {
		return e
	}
	return nil
}

// pinToOneCPU moves every thread of this process to the highest CPU it may run on, so that
// the processes it starts afterwards (they inherit the mask) and its own load generator and
// destination share that one CPU. It returns the CPU.
func pinToOneCPU() (int, error) {
	var allowed cpuMask
	if err := affinity(0, false, &allowed); err != nil {
		return 0, fmt.Errorf("harness: sched_getaffinity: %w", err)
	}
	cpu := allowed.highest()
	var one cpuMask
	one[cpu/64] = 1 << (cpu % 64)
	// A thread the runtime starts while this loop runs inherits the mask of the thread that
	// starts it; a second pass catches one started from a thread not yet pinned.
	for range 2 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return 0, fmt.Errorf("harness: %w", err)
		}
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			if err := affinity(tid, true, &one); err != nil && err != syscall.ESRCH {
				return 0, fmt.Errorf("harness: sched_setaffinity: %w", err)
			}
		}
	}
	return cpu, nil
}
