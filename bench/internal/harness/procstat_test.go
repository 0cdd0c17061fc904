package harness

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	tail := " S 4242 1 1 0 -1 4194560 1 0 0 0 150 37 0 0 20 0 9 0 100 0 0"
	tests := []struct {
		name      string
		in        string
		ppid      int
		ticks     uint64
		wantError bool
	}{
		{"plain", "1234 (sluice)" + tail, 4242, 187, false},
		{"name with spaces and parentheses", "1234 (a) b (c) d)" + tail, 4242, 187, false},
		{"name that looks like fields", "1234 () S 1 2 3 4 5 6 7 8 9 10 11 12)" + tail, 4242, 187, false},
		{"no parenthesis", "1234 sluice" + tail, 0, 0, true},
		{"truncated", "1234 (sluice) S 1 1 1", 0, 0, true},
		{"not numbers", "1234 (sluice) S x 1 1 0 -1 4194560 1 0 0 0 y z", 0, 0, true},
		{"empty", "", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseStat([]byte(tt.in))
			if tt.wantError {
				if !errors.Is(err, ErrProcStat) {
					t.Fatalf("err %v", err)
				}
				return
			}
			if err != nil || s.ppid != tt.ppid || s.ticks != tt.ticks {
				t.Fatalf("%+v %v", s, err)
			}
		})
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("1234 (sluice) S 4242 1 1 0 -1 4194560 1 0 0 0 150 37 0 0"))
	f.Add([]byte("1 ((((((("))
	f.Add([]byte(")))) 1 2 3 4 5 6 7 8 9 10 11 12 13 18446744073709551615 18446744073709551615"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		parseStat(b) // must not panic
	})
}

// FuzzParseStatCommName: whatever the process calls itself (the kernel allows any bytes but
// NUL, up to 15 of them, parentheses and spaces included), the numbers after it are read right.
func FuzzParseStatCommName(f *testing.F) {
	f.Add("sluice", uint32(1), uint32(150), uint32(37))
	f.Add("a) S 1 2 (b", uint32(7), uint32(0), uint32(0))
	f.Add(")))", uint32(4294967295), uint32(4294967295), uint32(4294967295))
	f.Add("1 2 3 4 5 6 7", uint32(2), uint32(3), uint32(4))
	f.Fuzz(func(t *testing.T, comm string, ppid, ut, st uint32) {
		if strings.ContainsRune(comm, 0) {
			return
		}
		line := "99 (" + comm + ") R " + strconv.FormatUint(uint64(ppid), 10) + " 1 1 0 -1 4194560 1 0 0 0 " +
			strconv.FormatUint(uint64(ut), 10) + " " + strconv.FormatUint(uint64(st), 10) + " 0 0 20 0 1 0\n"
		s, err := parseStat([]byte(line))
		if err != nil || s.ppid != int(ppid) || s.ticks != uint64(ut)+uint64(st) {
			t.Fatalf("%q: %+v %v", line, s, err)
		}
	})
}

// TestCPUTimeFromFakeProc checks the sum over a process and its direct children on a fake /proc.
func TestCPUTimeFromFakeProc(t *testing.T) {
	dir := t.TempDir()
	write := func(pid, ppid int, ut, st int) {
		p := filepath.Join(dir, strconv.Itoa(pid))
		os.MkdirAll(p, 0o755)
		line := strconv.Itoa(pid) + " (nginx: worker) S " + strconv.Itoa(ppid) + " 1 1 0 -1 0 0 0 0 0 " + strconv.Itoa(ut) + " " + strconv.Itoa(st) + " 0 0"
		os.WriteFile(filepath.Join(p, "stat"), []byte(line), 0o644)
	}
	write(10, 1, 100, 50) // master: 1.5 s
	write(11, 10, 200, 0) // worker: 2 s
	write(12, 10, 0, 100) // worker: 1 s
	write(13, 11, 500, 0) // grandchild: not counted
	write(14, 1, 700, 0)  // unrelated
	os.MkdirAll(filepath.Join(dir, "self"), 0o755)
	tests := []struct {
		name     string
		children bool
		want     time.Duration
	}{
		{"alone", false, 1500 * time.Millisecond},
		{"with children", true, 4500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cpuTime(dir, 10, tt.children)
			if err != nil || got != tt.want {
				t.Fatalf("%v %v, want %v", got, err, tt.want)
			}
		})
	}
	if _, err := cpuTime(dir, 99, false); !errors.Is(err, ErrProcStat) {
		t.Fatalf("missing pid: %v", err)
	}
}

// TestCPUTimeOfRealChild measures a child that burns CPU.
func TestCPUTimeOfRealChild(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	cmd := exec.Command("sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 5")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		d, err := CPUTime(cmd.Process.Pid, false)
		if err != nil {
			t.Fatal(err)
		}
		if d >= 20*time.Millisecond {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the busy child never showed CPU time")
}
