package transforms

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// The timer of an instance stays set between calls (startClock): these tests run a runaway
// call on an instance whose timer was set by earlier quick calls, for a time before the
// runaway call's deadline or after it.

// runawayStoppedWithin runs loopifbody with a body on e under ctx and fails the test unless
// the call times out before hang (a bound on stopping at all, not on speed). It returns how
// long the call took.
func runawayStoppedWithin(t *testing.T, ctx context.Context, e *Engine, id string, hang time.Duration) time.Duration {
	t.Helper()
	type result struct {
		took time.Duration
		err  error
	}
	res := make(chan result, 1)
	go func() {
		start := time.Now()
		_, err := e.OnRequest(ctx, id, &Exchange{Body: []byte("x")})
		res <- result{time.Since(start), err}
	}()
	select {
	case r := <-res:
		if !errors.Is(r.err, ErrTransformFailed) || !strings.Contains(r.err.Error(), "timed out") {
			t.Fatalf("runaway call: err = %v, want a timeout", r.err)
		}
		return r.took
	case <-time.After(hang):
		t.Fatalf("the runaway call still runs after %v", hang)
		return 0
	}
}

// quickCalls runs n calls of loopifbody that return at once.
func quickCalls(t *testing.T, e *Engine, id string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := e.OnRequest(context.Background(), id, &Exchange{}); err != nil {
			t.Fatalf("quick call %d: %v", i, err)
		}
	}
}

// A timer set by an earlier call fires before the runaway call's deadline: the firing must
// set it again, not stop the guest early, and the guest must still be stopped.
func TestLoopAfterQuickCallsIsStoppedAtItsOwnDeadline(t *testing.T) {
	t.Parallel()
	const timeout = 20 * time.Millisecond
	e := newEngine(t, Config{CallTimeout: timeout, PoolSize: 1, MaxInstances: 1})
	id := compile(t, e, testdata(t, "loopifbody"))
	for round := 0; round < 5; round++ {
		quickCalls(t, e, id, 50)
		start := time.Now()
		quickCalls(t, e, id, 1) // sets nothing: the timer is still set for an earlier call
		time.Sleep(timeout / 2)
		took := runawayStoppedWithin(t, context.Background(), e, id, 10*time.Second)
		// A lower bound only: a loaded machine makes the call longer, never shorter.
		if took < timeout {
			t.Fatalf("round %d: the runaway call was stopped after %v, before its %v deadline (%v after the quick call)",
				round, took, timeout, time.Since(start))
		}
	}
	assertEngineWorks(t, e)
}

// The caller's deadline is far earlier than the timer set by the quick calls (an hour away):
// the call must set the timer for its own deadline.
func TestLoopWithCallerDeadlineBeforeTheSetTimerIsStopped(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{CallTimeout: time.Hour, PoolSize: 1, MaxInstances: 1})
	id := compile(t, e, testdata(t, "loopifbody"))
	for round := 0; round < 3; round++ {
		quickCalls(t, e, id, 20)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		runawayStoppedWithin(t, ctx, e, id, 10*time.Second)
		cancel()
	}
	if f := e.Stats().Failures; f != 3 {
		t.Fatalf("failures = %d, want 3", f)
	}
}

// Quick calls spread over several timeouts: each firing of the timer finds a call running or
// none, and no quick call is stopped.
func TestQuickCallsAcrossTimerFiringsAllSucceed(t *testing.T) {
	t.Parallel()
	const timeout = 200 * time.Millisecond
	e := newEngine(t, Config{CallTimeout: timeout, PoolSize: 1, MaxInstances: 1})
	id := compile(t, e, testdata(t, "loopifbody"))
	for i := 0; i < 8; i++ {
		quickCalls(t, e, id, 20)
		time.Sleep(timeout / 2)
	}
	if s := e.Stats(); s.Failures != 0 || s.Instantiations != 1 {
		t.Fatalf("failures = %d, instantiations = %d: a quick call was stopped", s.Failures, s.Instantiations)
	}
	runawayStoppedWithin(t, context.Background(), e, id, 10*time.Second)
}
