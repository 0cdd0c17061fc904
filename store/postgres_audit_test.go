package store

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestPostgresAuditAllocationsPerCall: a proxied request's five detokenization events (ids,
// actor and proxy of real lengths: a commit of more than 1 KB) cost no allocation in steady
// state: the events are encoded into reused buffers and sent as they are, not boxed into
// arrays per commit nor copied into a buffer that is dropped after each commit.
func TestPostgresAuditAllocationsPerCall(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates, and drops sync.Pool entries at random")
	}
	ctx := context.Background()
	st, _ := openTestPG(t)
	evs := make([]Event, 5)
	for i := range evs {
		evs[i] = Event{EntityType: "token", EntityID: fmt.Sprint("0b7c1f0e-6b0e-4c65-8d2b-9d0a5b0e2f1", i), Operation: "detokenize",
			Actor: "3f0c5a52-2b8e-4d7c-9a51-6f1e2d3c4b5a", ProxyID: "9d2e7b1c-5a4f-4e3d-8c2b-1a0f9e8d7c6b", Reason: "support ticket 4711"}
	}
	audit := func() {
		if err := st.Audit(ctx, evs...); err != nil {
			t.Fatal(err)
		}
	}
	audit() // the connection, the prepared statement and the buffers
	if n := testing.AllocsPerRun(200, audit); n > 0 {
		t.Fatalf("%.1f allocations per Audit call, want none", n)
	}
}

// TestPostgresAuditCallerLeavingOnItsContextDoesNotStallTheOthers: while a commit hangs (the
// events table locked), a waiting caller whose context ends returns ErrUnavailable at once
// and leaves the queue (its event is not written); the commit under way and the next one,
// led by a caller that stayed, still happen once the lock goes, and later callers commit.
func TestPostgresAuditCallerLeavingOnItsContextDoesNotStallTheOthers(t *testing.T) {
	ctx := context.Background()
	s, url := openTestPG(t)
	unlock := lockEvents(t, url)
	audit := func(ctx context.Context, id string) error {
		return s.Audit(ctx, Event{EntityType: "token", EntityID: id, Operation: "detokenize"})
	}
	results := make(chan error, 2)
	go func() { results <- audit(ctx, "leader") }()
	waitUnanswered(t, s, 1)
	leaving, leave := context.WithCancel(ctx)
	left := make(chan error, 1)
	go func() { left <- audit(leaving, "left") }()
	waitUnanswered(t, s, 2)
	go func() { results <- audit(ctx, "stayed") }()
	waitUnanswered(t, s, 3)
	leave()
	if err := <-left; !errors.Is(err, ErrUnavailable) {
		t.Fatalf("the caller that left: %v, want ErrUnavailable", err)
	}
	unlock()
	for range 2 {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
	if err := audit(ctx, "later"); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]int{"leader": 1, "left": 0, "stayed": 1, "later": 1} {
		if evs, _, err := s.Events(ctx, EventQuery{EntityID: id}); err != nil || len(evs) != want {
			t.Errorf("events of %s: %d (%v), want %d", id, len(evs), err, want)
		}
	}
}

// lockEvents locks the events table from another connection, so no commit of events can
// finish until unlock.
func lockEvents(t *testing.T, url string) (unlock func()) {
	t.Helper()
	ctx := context.Background()
	locker, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { locker.Close(ctx) })
	tx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE events IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	return func() { tx.Rollback(ctx) }
}

// waitUnanswered waits (at most 30 s) until n callers wait for their commit.
func waitUnanswered(t *testing.T, s *pgStore, n int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); s.audit.unanswered() < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d callers waiting, want %d", s.audit.unanswered(), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestPostgresAuditCommitIsBoundedInBytes: one commit takes the waiting callers' events up
// to maxBytes — the others wait for the next commits, all of them written in the end — and a
// call whose own events exceed it is refused before it joins a commit.
func TestPostgresAuditCommitIsBoundedInBytes(t *testing.T) {
	ctx := context.Background()
	s, url := openTestPG(t)
	ev := func(i int) Event {
		return Event{EntityType: "token", EntityID: fmt.Sprintf("bounded-%03d", i), Operation: "detokenize"}
	}
	var one eventColumns
	e := ev(0)
	one.add(&e)
	s.audit.maxBytes = 3 * one.size()
	var commits atomic.Int64
	s.audit.onFlush = func() { commits.Add(1) }
	if err := s.Audit(ctx, ev(1), ev(2), ev(3), ev(4)); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("a call over the bound: %v, want ErrInvalidInput", err)
	}
	unlock := lockEvents(t, url)
	const n = 20
	errs := make(chan error, n)
	go func() { errs <- s.Audit(ctx, ev(0)) }()
	waitUnanswered(t, s, 1)
	for i := 1; i < n; i++ {
		go func() { errs <- s.Audit(ctx, ev(i)) }()
	}
	waitUnanswered(t, s, n)
	unlock()
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if c := commits.Load(); c < 1+(n-1+2)/3 {
		t.Fatalf("%d commits for %d callers, at most 3 per commit", c, n)
	}
	page, _, err := s.Events(ctx, EventQuery{Size: 100, Operation: "detokenize"})
	if err != nil || len(page) != n {
		t.Fatalf("%d of %d events stored (%v)", len(page), n, err)
	}
}
