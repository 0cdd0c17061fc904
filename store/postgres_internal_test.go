package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestPostgresAuditReturnsAfterItsCommitGrouped: Audit returns only once its records are
// committed (the events table is locked here, so no commit can happen), and the records that
// arrive meanwhile are committed together: a handful of statements for many requests.
func TestPostgresAuditReturnsAfterItsCommitGrouped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, url := openTestPG(t)
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
			if err := s.Audit(ctx, Event{EntityType: "token", EntityID: fmt.Sprint("t", i), Operation: "detokenize"}); err != nil {
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
		page, next, err := s.Events(ctx, q)
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

// TestPostgresSweepGivesSpaceBack: the sweep deletes expired tokens with their claims, lapsed
// short-lived fields and, with a retention, older audit events; live ones stay.
func TestPostgresSweepGivesSpaceBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, url := openTestPG(t)
	past := time.Now().Add(-time.Minute)
	gone := card("gone", "4242424242424242")
	gone.ExpiresAt, gone.Fingerprint = &past, "fp"
	kept := card("kept", "4242424242424242")
	kept.Ephemeral = map[string]json.RawMessage{"cvc": json.RawMessage(`"123"`)}
	kept.EphemeralUntil = time.Now().Add(50 * time.Millisecond)
	for _, tok := range []*Token{gone, kept} {
		if _, _, err := st.CreateToken(ctx, tok, false, Event{EntityType: "token", EntityID: tok.ID, Operation: "create", CreatedAt: time.Now().Add(-48 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	st.Audit(ctx, Event{EntityType: "token", EntityID: "kept", Operation: "detokenize"})
	time.Sleep(time.Until(kept.EphemeralUntil))
	st.sweep(24 * time.Hour)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for sql, want := range map[string]int{
		"SELECT count(*) FROM tokens":                                1, // kept
		"SELECT count(*) FROM token_claims":                          0,
		"SELECT count(*) FROM tokens WHERE ephem IS NOT NULL":        0,
		"SELECT count(*) FROM events":                                1,
		"SELECT count(*) FROM events WHERE operation = 'detokenize'": 1,
	} {
		var n int
		if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil || n != want {
			t.Errorf("%s: %d (%v), want %d", sql, n, err, want)
		}
	}
}

// TestPostgresAuditDefaultHasNoWindow: by default a lone audit record's commit starts at once
// (the natural group commit); audit.sync_interval > 0 opts into a gathering window.
func TestPostgresAuditDefaultHasNoWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opt  time.Duration
		want time.Duration
	}{{"default", 0, 0}, {"negative", -1, 0}, {"opt-in window", 10 * time.Millisecond, 10 * time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := OpenPostgres(ctx, MigratedPostgresDatabase(t), PostgresOptions{MasterKey: testKey(1), AuditSyncInterval: tc.opt})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if w := st.(*pgStore).audit.window; w != tc.want {
				t.Fatalf("window %v, want %v", w, tc.want)
			}
		})
	}
}

// openTestPG opens a PostgreSQL store on a new database of its own, closed when tb ends.
func openTestPG(tb testing.TB) (*pgStore, string) {
	tb.Helper()
	url := MigratedPostgresDatabase(tb)
	st, err := OpenPostgres(context.Background(), url, PostgresOptions{MasterKey: testKey(1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st.(*pgStore), url
}
