package transforms

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Security tests: each hostile module fails only its own call, within its
// bounds, and the next call on the same Engine succeeds.

// Serial, with 5 ms: the engine's last call (assertEngineWorks) must finish within the same
// CallTimeout, and beside the parallel tests a tiny call took over 1 ms.
func TestInfiniteLoopIsStoppedByCallTimeout(t *testing.T) {
	const timeout = 5 * time.Millisecond // 100 loops, each burning a CPU until stopped
	e := newEngine(t, Config{CallTimeout: timeout})
	id := compile(t, e, testdata(t, "loop"))
	// The bound is about stopping, not speed: a loop left running would take forever; the time a
	// loaded machine adds to the timer's wake-up is not the engine's (no wall-clock threshold).
	const hang = 5 * time.Second
	var slowest time.Duration
	for i := 0; i < 100; i++ {
		start := time.Now()
		_, err := e.OnRequest(context.Background(), id, &Exchange{})
		took := time.Since(start)
		if !errors.Is(err, ErrTransformFailed) || !strings.Contains(err.Error(), "timed out") {
			t.Fatalf("run %d: err = %v, want a timeout", i, err)
		}
		if took > hang {
			t.Fatalf("run %d took %v: the %v limit did not stop the loop", i, took, timeout)
		}
		slowest = max(slowest, took)
	}
	t.Logf("slowest of 100 stopped loops: %v (limit %v)", slowest, timeout)
	if f := e.Stats().Failures; f != 100 {
		t.Fatalf("failures = %d", f)
	}
	assertEngineWorks(t, e)
}

// A call tree of 2^60 calls has no loop: a check at loop headers alone
// (wazero's WithCloseOnContextDone) never stops it; the function-entry check
// does.
func TestCallTreeWithoutLoopIsStoppedByCallTimeout(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{CallTimeout: 50 * time.Millisecond})
	id := compile(t, e, testdata(t, "fanout"))
	for i := 0; i < 3; i++ {
		_, err := e.OnRequest(context.Background(), id, &Exchange{})
		if !errors.Is(err, ErrTransformFailed) || !strings.Contains(err.Error(), "timed out") {
			t.Fatalf("run %d: err = %v, want a timeout", i, err)
		}
	}
	assertEngineWorks(t, e)
}

// Guest code is not preemptible by Go; the periodic yield is what lets the
// timers run and a garbage collection stop the world while more runaway
// guests than CPUs run: without it this test never ends (checked by
// removing the yield). How long the collection waits depends on the
// scheduler's time slices: 24 ms alone, up to seconds in a loaded package
// run — as with wazero's own per-iteration check, measured the same way.
// Not parallel: its guests are to hold every CPU, and each run is timed against their timeout.
func TestRunawayGuestsOnEveryCPUDoNotBlockTheRuntime(t *testing.T) {
	// The guests burn every CPU until their timeout. A run shows something only when the
	// collection ends before that (after it, the stopped guests had left the CPUs to it): the
	// timeout starts short and grows until a run does.
	for timeout := 100 * time.Millisecond; !collectedWhileGuestsRun(t, timeout); timeout *= 2 {
		if timeout > 5*time.Second {
			t.Fatalf("no collection ended while the guests ran, the last in a %v run", timeout)
		}
	}
}

// collectedWhileGuestsRun runs more looping guests than CPUs, stopped at timeout, collects
// garbage once every guest is seen running, and reports whether the collection ended before
// the first guest was stopped.
func collectedWhileGuestsRun(t *testing.T, timeout time.Duration) bool {
	guests := runtime.GOMAXPROCS(0) + 1
	e := newEngine(t, Config{CallTimeout: timeout, MaxInstances: guests})
	id := compile(t, e, testdata(t, "loop"))
	var wg sync.WaitGroup
	launched := time.Now() // every guest's deadline is after launched+timeout
	for i := 0; i < guests; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.OnRequest(context.Background(), id, &Exchange{}); err == nil {
				t.Error("loop succeeded")
			}
		}()
	}
	waitFor(t, func() bool { return e.Stats().Calls == uint64(guests) }) // the guests are running
	// The cycle's end is when its second stop of the world is over. runtime.GC returns later:
	// it then sweeps the heap, yielding the CPU after each span, and a goroutine that yields
	// waits for the guests' time slices.
	before := gcCycles()
	gcStart := time.Now()
	collected := make(chan struct{})
	go func() { runtime.GC(); close(collected) }() // needs every goroutine at a safe point
	waitFor(t, func() bool { return gcCycles() > before })
	ended := time.Since(launched)
	t.Logf("collection took %v (guests stopped at %v)", time.Since(gcStart), timeout)
	wg.Wait()
	<-collected
	assertEngineWorks(t, e)
	return ended < timeout
}

// gcCycles is the number of garbage collections completed (runtime/metrics reads it without
// stopping the world, unlike runtime.ReadMemStats).
func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func TestCallerDeadlineShorterThanCallTimeout(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{CallTimeout: 10 * time.Second})
	id := compile(t, e, testdata(t, "loop"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := e.OnRequest(ctx, id, &Exchange{})
	if !errors.Is(err, ErrTransformFailed) || time.Since(start) > 2*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}

// Not parallel: it measures the process's RSS.
func TestMemoryGrowthIsCappedAndHostRSSBounded(t *testing.T) {
	// 4 MiB per instance: each call grows its memory step by step to the cap (49 pages, ~3 MiB)
	// and dirties all of it, faulting in fresh pages, so the cap sets the test's cost; the bound
	// below scales with it.
	e := newEngine(t, Config{MemoryLimitPages: 64, PoolSize: 1, MaxInstances: 2, CallTimeout: time.Minute}) // about memory, not time
	id := compile(t, e, testdata(t, "grow"))
	runtime.GC()
	debug.FreeOSMemory()
	before := rssBytes(t)
	for i := 0; i < 30; i++ {
		_, err := e.OnRequest(context.Background(), id, &Exchange{})
		if !errors.Is(err, ErrTransformFailed) || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("run %d: err = %v, want the trap after growth was refused", i, err)
		}
	}
	runtime.GC()
	debug.FreeOSMemory()
	// 30 runs each dirty ~3 MiB: without the cap and the discarding of
	// instances RSS would grow by ~90 MiB. Allow a few live instances.
	grew := rssBytes(t) - before
	t.Logf("RSS grew by %d KiB", grew>>10)
	if grew > 18<<20 {
		t.Fatalf("RSS grew by %d MiB over 30 memory-exhausting calls", grew>>20)
	}
	assertEngineWorks(t, e)
}

func rssBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmRSS")
	return 0
}

func TestTrapsFailOnlyThatCall(t *testing.T) {
	t.Parallel()
	// A generous call timeout: this test is about traps, and exhausting the stack takes over a
	// second on a loaded machine, and tens of seconds under -race.
	callTimeout := time.Minute
	if raceEnabled {
		callTimeout = 10 * time.Minute
	}
	e := newEngine(t, Config{CallTimeout: callTimeout})
	tests := []struct{ name, module, want string }{
		{"unreachable", "trap", "unreachable"},
		{"stack exhaustion", "recurse", "stack overflow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := compile(t, e, testdata(t, tt.module))
			before := e.Stats().Instantiations
			for i := 0; i < 3; i++ {
				_, err := e.OnRequest(context.Background(), id, &Exchange{})
				if !errors.Is(err, ErrTransformFailed) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want %q", err, tt.want)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Fatalf("error carries a stack trace: %q", err)
				}
				// An exhausted stack leaves ~170 MiB of wazero's stacks as garbage; collected
				// now, the next call reuses that memory instead of faulting in fresh pages
				// (half a second of CPU on this VM).
				runtime.GC()
			}
			waitFor(t, func() bool { return e.Stats().Instantiations >= before+3 })
			assertEngineWorks(t, e)
		})
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWASIPathOpenGetsAnError(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	id := compile(t, e, testdata(t, "pathopen"))
	ex := &Exchange{}
	if o, err := e.OnRequest(context.Background(), id, ex); err != nil || o.Ended {
		t.Fatalf("%+v %v", o, err)
	}
	if len(ex.Body) != 8 {
		t.Fatalf("body = %x", ex.Body)
	}
	for i, fd := range []string{"3 (first preopen)", "0 (stdin)"} {
		if errno := binary.LittleEndian.Uint32(ex.Body[4*i:]); errno == 0 {
			t.Errorf("path_open on fd %s succeeded", fd)
		}
	}
}

func TestOutOfBoundsGuestPointerTraps(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	id := compile(t, e, testdata(t, "oob"))
	svc := &fakeServices{tokenize: func(string, []byte) (string, error) { return "tok", nil }}
	for sel, fn := range []string{"read head", "write body", "config", "tokenize", "end", "log", "read straddling the end", "read with a 4 GiB cap"} {
		t.Run(fn, func(t *testing.T) {
			ex := &Exchange{Body: []byte{byte('0' + sel)}, Services: svc}
			_, err := e.OnRequest(context.Background(), id, ex)
			if !errors.Is(err, ErrTransformFailed) || !strings.Contains(err.Error(), "guest pointer out of bounds") {
				t.Fatalf("err = %v, want the out-of-bounds trap", err)
			}
			if len(svc.calls) != 0 {
				t.Fatal("tokenize ran with a bad pointer")
			}
		})
	}
	ex := &Exchange{Body: []byte("z")}
	if _, err := e.OnRequest(context.Background(), id, ex); err != nil {
		t.Fatalf("valid call after the traps: %v", err)
	}
}

func TestABIViolationsFailTheCall(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{})
	id := compile(t, e, testdata(t, "abiviolation"))
	tests := []struct{ name, sel, want string }{
		{"ended without end", "a", "without calling end"},
		{"end then continue", "b", "returned continue"},
		{"unknown result", "c", "returned 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.OnRequest(context.Background(), id, &Exchange{Body: []byte(tt.sel)})
			if !errors.Is(err, ErrTransformFailed) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if o, err := e.OnRequest(context.Background(), id, &Exchange{Body: []byte("z")}); err != nil || o.Ended {
		t.Fatalf("%+v %v", o, err)
	}
}

func TestRemoveWhileCallsAreInFlight(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{CallTimeout: 100 * time.Millisecond})
	id := compile(t, e, testdata(t, "loop"))
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.OnRequest(context.Background(), id, &Exchange{})
			if err == nil {
				t.Error("loop succeeded")
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	e.Remove(id)
	wg.Wait()
	if e.Has(id) {
		t.Fatal("module survived Remove")
	}
	assertEngineWorks(t, e)
}

func TestGuestOutputGoesToLogWithinBudget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		budget int
		want   string
	}{
		{"whole", 0, "hello from the guest" + "second"},
		{"cut at the budget", 8, "hello fr"},
		{"budget spans both", 23, "hello from the guest" + "sec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, Config{MaxLogBytes: tt.budget})
			id := compile(t, e, testdata(t, "stdout"))
			svc := &fakeServices{}
			if _, err := e.OnRequest(context.Background(), id, &Exchange{Services: svc}); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(svc.logs, ""); got != tt.want {
				t.Fatalf("logged %q, want %q", got, tt.want)
			}
			// Without Services the output is dropped.
			if _, err := e.OnRequest(context.Background(), id, &Exchange{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
