package harness

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestIdleRatePoolsTheSpansBeforeAndAfterTheScenarios: the idle work subtracted from every
// window is the rate over both idle spans together, so one span that caught a burst of
// background work (or none) moves it half as far as when it alone decided.
func TestIdleRatePoolsTheSpansBeforeAndAfterTheScenarios(t *testing.T) {
	before := span{instructions: 3_000_000, wall: 2 * time.Second}
	after := span{instructions: 1_000_000, wall: 2 * time.Second}
	if r := idleRate(before, after); r != 1_000_000 {
		t.Fatalf("idle rate %v, want 1 M/s (4 M over 4 s)", r)
	}
	if r := idleRate(); r != 0 {
		t.Fatalf("no spans: %v", r)
	}
	c := counted{scenario: "tokens=0", requests: 500, windows: []span{
		{instructions: 21_000_000, wall: time.Second},     // 20 M of requests + 1 s idle
		{instructions: 23_000_000, wall: 3 * time.Second}, // the same requests, slower
		{instructions: 20_500_000, wall: time.Second / 2},
	}}
	got := c.count(idleRate(before, after))
	for i, w := range got.Windows {
		if w != 40_000 {
			t.Fatalf("window %d: %v per request, want 40 k (the idle of its length subtracted)", i, w)
		}
	}
	if got.PerRequest != 40_000 || got.Requests != 500 || got.Scenario != "tokens=0" {
		t.Fatalf("count %+v", got)
	}
}

// TestCountedProcessesRunNoGarbageCollection: a Go process started with the environment of a
// counted target allocates 256 MB of garbage without one collection (a cycle landing in a
// window by chance is ~30 M instructions); the same process without it collects.
func TestCountedProcessesRunNoGarbageCollection(t *testing.T) {
	if os.Getenv("HARNESS_GC_CHILD") == "1" {
		allocateGarbage()
		return
	}
	for _, tt := range []struct {
		name   string
		env    []string
		wantGC bool
	}{
		{"counted", countedEnv(), false},
		{"plain", append(os.Environ(), "GOGC=100", "GOMEMLIMIT=off"), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestCountedProcessesRunNoGarbageCollection$", "-test.count=1")
			cmd.Env = append(tt.env, "HARNESS_GC_CHILD=1")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v: %s", err, out)
			}
			i := strings.Index(string(out), "numgc=")
			if i < 0 {
				t.Fatalf("child said %q", out)
			}
			n, _ := strconv.Atoi(strings.Fields(string(out[i+len("numgc="):]))[0])
			if (n > 0) != tt.wantGC {
				t.Fatalf("%d collections", n)
			}
		})
	}
}

var sink []byte

func allocateGarbage() {
	for range 64 << 10 {
		sink = make([]byte, 4<<10)
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	fmt.Printf("numgc=%d gogc=%d\n", m.NumGC, debug.SetGCPercent(-1))
}
