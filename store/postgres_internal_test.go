package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-edge/sluice/store/internal/pgtest"
)

// TestPostgresAuditReturnsAfterItsCommitGrouped: Audit returns only once its records are
// committed (the events table is locked here, so no commit can happen), and the records that
// arrive meanwhile are committed together: a handful of statements for many requests.
func TestPostgresAuditReturnsAfterItsCommitGrouped(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Database(t)
	st, err := OpenPostgres(ctx, url, PostgresOptions{MasterKey: testKey(1)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := st.(*pgStore)
	var flushes atomic.Int64
	s.audit.onFlush = func() { flushes.Add(1) }

	locker, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close(ctx)
	tx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE events IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	const n = 40
	var returned atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := st.Audit(ctx, Event{EntityType: "token", EntityID: fmt.Sprint("t", i), Operation: "detokenize"}); err != nil {
				t.Error(err)
			}
			returned.Add(1)
		}()
	}
	// Every request is waiting: the first ones in a commit held by the lock, the others queued.
	for deadline := time.Now().Add(30 * time.Second); s.audit.unanswered() < n; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d requests waiting", s.audit.unanswered())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if r := returned.Load(); r != 0 {
		t.Fatalf("%d Audit calls returned before any commit could happen", r)
	}
	tx.Rollback(ctx)
	wg.Wait()
	if f := flushes.Load(); f > 3 {
		t.Fatalf("%d commits for %d requests: not grouped", f, n)
	}
	evs := 0
	for q := (EventQuery{Size: 100, Operation: "detokenize"}); ; {
		page, next, err := st.Events(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		evs += len(page)
		if next == "" {
			break
		}
		q.Start = next
	}
	if evs != n {
		t.Fatalf("%d of %d audited events stored", evs, n)
	}
}
