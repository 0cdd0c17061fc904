package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// openAuditVault opens a PostgreSQL vault on a fresh database and returns it with the
// database's URL and a connection of the test's own (for faults and checks).
func openAuditVault(t *testing.T) (*pgStore, *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	url := MigratedPostgresDatabase(t)
	st, err := OpenPostgres(ctx, url, PostgresOptions{MasterKey: testKey(1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(ctx) })
	return st.(*pgStore), admin
}

// auditedIDs is how many events the events table holds for each of ids.
func auditedIDs(t *testing.T, admin *pgx.Conn, ids []string) map[string]int {
	t.Helper()
	rows, err := admin.Query(context.Background(), "SELECT entity_id, count(*) FROM events WHERE entity_id = ANY($1) GROUP BY entity_id", ids)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		got[id] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestPostgresAuditSurvivesNoticeNotificationAndParameterStatusMidCommit: the commit's answer
// carries every asynchronous message PostgreSQL may put on the log's connection — a
// NoticeResponse and a WARNING, a NotificationResponse (the connection LISTENs, by a trigger)
// and a ParameterStatus (application_name changed by the trigger) — between the rows and
// ReadyForQuery. Each commit must still end at its own ReadyForQuery: every call succeeds, its
// events are stored, and the answers of one commit never spill into the next.
func TestPostgresAuditSurvivesNoticeNotificationAndParameterStatusMidCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, admin := openAuditVault(t)
	if _, err := admin.Exec(ctx, `CREATE FUNCTION hr_noisy() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			RAISE NOTICE 'audit row %', NEW.entity_id;
			RAISE WARNING 'audit warning %', NEW.entity_id;
			EXECUTE 'LISTEN hr_audit';
			PERFORM pg_notify('hr_audit', NEW.entity_id);
			PERFORM set_config('application_name', 'hr-' || NEW.entity_id, false);
			RETURN NEW;
		END $$;
		CREATE TRIGGER hr_noisy AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION hr_noisy();`); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 20 {
		id := fmt.Sprintf("noisy-%02d", i)
		ids = append(ids, id)
		if err := st.Audit(ctx, Event{EntityType: "token", EntityID: id, Operation: "detokenize"},
			Event{EntityType: "token", EntityID: id, Operation: "detokenize"}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	got := auditedIDs(t, admin, ids)
	for _, id := range ids {
		if got[id] != 2 {
			t.Errorf("%s: %d events stored, want 2", id, got[id])
		}
	}
}

// TestPostgresAuditRowFailingMidStatementFailsItsWholeCommit: a row that PostgreSQL refuses
// after others of the same statement went in (a trigger raising on one entity id) fails the
// commit as one: no caller of that commit is told its events committed unless they are
// stored, and the log's next commits go through.
func TestPostgresAuditRowFailingMidStatementFailsItsWholeCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, admin := openAuditVault(t)
	if _, err := admin.Exec(ctx, `CREATE FUNCTION hr_poison() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.entity_id LIKE 'poison%' THEN RAISE EXCEPTION 'poisoned row'; END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER hr_poison BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION hr_poison();`); err != nil {
		t.Fatal(err)
	}
	unlock := lockEvents(t, admin.Config().ConnString())
	const n = 12
	var ids []string
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		id := fmt.Sprintf("caller-%02d", i)
		if i == n/2 {
			id = "poison-" + id
		}
		ids = append(ids, id)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = st.Audit(ctx, Event{EntityType: "token", EntityID: id, Operation: "detokenize"})
		}()
		waitUnanswered(t, st, i+1) // all in the commit after the locked one, in this order
	}
	unlock()
	wg.Wait()
	got := auditedIDs(t, admin, ids)
	for i, id := range ids {
		if errs[i] == nil && got[id] != 1 {
			t.Errorf("%s: told committed, %d events stored", id, got[id])
		}
	}
	if errs[n/2] == nil {
		t.Errorf("the poisoned call succeeded")
	}
	if err := st.Audit(ctx, Event{EntityType: "token", EntityID: "after", Operation: "detokenize"}); err != nil {
		t.Fatalf("the commit after a refused one: %v", err)
	}
}

// TestPostgresAuditNilOnlyOnceCommittedUnderCancelsKillsAndClose: callers whose contexts end at
// random moments, the log's connection killed again and again (pg_terminate_backend) and the
// store closed while calls are under way. Whatever each caller is told, a nil answer — the
// proxy's leave to send plaintext — only ever follows the commit of that caller's events; no
// caller hangs, and Close returns.
func TestPostgresAuditNilOnlyOnceCommittedUnderCancelsKillsAndClose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, admin := openAuditVault(t)
	const callers, calls = 8, 40
	type result struct {
		id  string
		err error
	}
	results := make(chan result, callers*calls)
	var wg sync.WaitGroup
	stopKiller := make(chan struct{})
	killerDone := make(chan struct{})
	go func() { // kills every other backend of the database (the log's connection among them)
		defer close(killerDone)
		for {
			select {
			case <-stopKiller:
				return
			case <-time.After(time.Duration(rand.IntN(15)) * time.Millisecond):
			}
			admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
		}
	}()
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				id := fmt.Sprintf("c%d-%03d", c, i)
				callCtx, cancel := context.WithCancel(ctx)
				if i%3 == 0 {
					time.AfterFunc(time.Duration(rand.IntN(2000))*time.Microsecond, cancel)
				}
				err := st.Audit(callCtx, Event{EntityType: "token", EntityID: id, Operation: "detokenize"},
					Event{EntityType: "token", EntityID: id, Operation: "detokenize"})
				cancel()
				results <- result{id, err}
			}
		}()
	}
	closed := make(chan struct{})
	go func() {
		for len(results) < callers*calls/2 {
			time.Sleep(time.Millisecond)
		}
		st.Close() // while calls are under way
		close(closed)
	}()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("audit callers still waiting after 2 minutes")
	}
	select {
	case <-closed:
	case <-time.After(time.Minute):
		t.Fatal("Close did not return")
	}
	close(stopKiller)
	<-killerDone
	close(results)
	var ids []string
	told := map[string]bool{}
	for r := range results {
		ids = append(ids, r.id)
		told[r.id] = r.err == nil
	}
	got := auditedIDs(t, admin, ids)
	committed := 0
	for _, id := range ids {
		if told[id] {
			committed++
			if got[id] != 2 {
				t.Errorf("%s: told committed, %d of its 2 events stored", id, got[id])
			}
		}
		if got[id] != 0 && got[id] != 2 {
			t.Errorf("%s: %d of its 2 events stored (a call's events commit together)", id, got[id])
		}
	}
	t.Logf("%d of %d calls told committed", committed, len(ids))
}
