package harness

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat. Linux exports them in USER_HZ,
// which is 100 on every architecture regardless of the kernel's internal tick rate.
const userHZ = 100

// ErrProcStat is wrapped by failures to read or parse /proc/<pid>/stat.
var ErrProcStat = errors.New("harness: cannot read process cpu time")

// procStat is what the harness needs from /proc/<pid>/stat.
type procStat struct {
	ppid  int
	ticks uint64 // utime + stime, in USER_HZ ticks, of every thread (living and exited)
}

// parseStat parses the contents of /proc/<pid>/stat. The command name (field 2) is in
// parentheses and may itself contain spaces and parentheses, so fields are counted from the last
// ')'. After it come state (3), ppid (4), … utime (14), stime (15).
func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("%w: no command name", ErrProcStat)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 { // fields 3..15
		return procStat{}, fmt.Errorf("%w: %d fields", ErrProcStat, len(f)+2)
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	ut, err2 := strconv.ParseUint(string(f[11]), 10, 64)
	st, err3 := strconv.ParseUint(string(f[12]), 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return procStat{}, fmt.Errorf("%w: %v", ErrProcStat, err)
	}
	return procStat{ppid: ppid, ticks: ut + st}, nil
}

func readStat(proc string, pid int) (procStat, error) {
	b, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, fmt.Errorf("%w: %v", ErrProcStat, err)
	}
	return parseStat(b)
}

// CPUTime returns the user+system CPU time pid has used so far (all its threads), plus, with
// children, that of its living direct children (nginx's workers). Resolution: 10 ms.
func CPUTime(pid int, children bool) (time.Duration, error) {
	return cpuTime("/proc", pid, children)
}

func cpuTime(proc string, pid int, children bool) (time.Duration, error) {
	s, err := readStat(proc, pid)
	if err != nil {
		return 0, err
	}
	ticks := s.ticks
	if children {
		ents, err := os.ReadDir(proc)
		if err != nil {
			return 0, fmt.Errorf("%w: %v", ErrProcStat, err)
		}
		for _, e := range ents {
			child, err := strconv.Atoi(e.Name())
			if err != nil || child == pid {
				continue
			}
			if cs, err := readStat(proc, child); err == nil && cs.ppid == pid {
				ticks += cs.ticks
			}
		}
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}
