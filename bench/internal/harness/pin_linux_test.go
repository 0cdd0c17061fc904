package harness

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestPinToOneCPUMovesEveryThreadAndTheProcessesStartedAfter: after pinToOneCPU every thread
// of this process, and a process it starts, may run on that one CPU only — the proxies, the
// load generator and the destination then share it, whichever thread starts them.
func TestPinToOneCPUMovesEveryThreadAndTheProcessesStartedAfter(t *testing.T) {
	var orig cpuMask
	if err := affinity(0, false, &orig); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { setAll(t, &orig) })
	cpu, err := pinToOneCPU()
	if err != nil {
		t.Fatal(err)
	}
	if cpu != orig.highest() {
		t.Fatalf("pinned to %d, want the highest allowed CPU %d", cpu, orig.highest())
	}
	want := strconv.Itoa(cpu)
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		if got := allowedCPUs(t, "/proc/self/task/"+task.Name()+"/status"); got != want {
			t.Fatalf("thread %s may run on %q, want %q", task.Name(), got, want)
		}
	}
	out, err := exec.Command("grep", "Cpus_allowed_list", "/proc/self/status").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(strings.TrimPrefix(string(out), "Cpus_allowed_list:")); got != want {
		t.Fatalf("a process started after may run on %q, want %q", got, want)
	}
}

func allowedCPUs(t *testing.T, status string) string {
	b, err := os.ReadFile(status)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("%s: no Cpus_allowed_list", status)
	return ""
}

func setAll(t *testing.T, m *cpuMask) {
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, task := range tasks {
		if tid, err := strconv.Atoi(task.Name()); err == nil {
			affinity(tid, true, m)
		}
	}
}
