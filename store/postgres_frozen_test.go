package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/store"
	"github.com/sluice-edge/sluice/store/internal/pgtest"
)

// TestPostgresFrozenDatabaseCallsFailTogetherNotInTurn: PostgreSQL frozen (SIGSTOP: the
// connections stay open, nothing answers, as with a hung host or a partition) while many calls
// come at once — writes, reads that miss the cache, audited reads — on connections just used
// and on new ones. Every call fails with ErrUnavailable, all of them within a few connect
// timeouts however many there are: none waits behind the others for its own connection
// attempt or for an answer that does not come. The change feed tells its subscribers that
// changes may be missed (the caches are dropped: in a partition the other nodes go on
// writing). Thawed, the same Store serves again.
func TestPostgresFrozenDatabaseCallsFailTogetherNotInTurn(t *testing.T) {
	url := store.MigratedPostgresDatabase(t) // starts the cluster
	pg := pgtest.Server()
	if pg == nil {
		t.Skip("needs the cluster pgtest starts (not SLUICE_TEST_DATABASE_URL) to freeze it")
	}
	// Not parallel: the cluster freezes for every test. The parallel tests wait until the
	// sequential ones are done.
	const connectTimeout = time.Second
	st, err := store.OpenPostgres(bg, url, store.PostgresOptions{MasterKey: testMaster, ConnectTimeout: connectTimeout, HealthInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lost := make(chan struct{}, 1)
	st.(store.ChangeFeed).Subscribe(func(c store.Change) {
		if c.Kind == store.ChangedUnknown {
			select {
			case lost <- struct{}{}:
			default:
			}
		}
	})
	detokenized := store.Event{EntityType: "token", EntityID: "before", Operation: "detokenize"}
	create := func(ctx context.Context, id string) error {
		_, _, err := st.CreateToken(ctx, &store.Token{ID: id, Type: "token", Data: []byte(`"v"`)}, false, store.Event{Operation: "create"})
		return err
	}
	// The pool's connections and the audit log's in use a moment before the freeze.
	if err := create(bg, "before"); err != nil {
		t.Fatal(err)
	}
	if err := st.Audit(bg, detokenized); err != nil {
		t.Fatal(err)
	}

	const each = 8 // calls of each kind: more than the pool has connections
	calls := []struct {
		name string
		do   func(ctx context.Context, i int) error
	}{
		{"create", func(ctx context.Context, i int) error { return create(ctx, fmt.Sprint("during-", i)) }},
		{"read a token no cache holds", func(ctx context.Context, i int) error {
			_, err := st.GetToken(ctx, fmt.Sprint("missing-", i))
			return err
		}},
		{"audit", func(ctx context.Context, _ int) error { return st.Audit(ctx, detokenized) }},
		{"events", func(ctx context.Context, _ int) error { _, _, err := st.Events(ctx, store.EventQuery{}); return err }},
	}
	if err := pg.Pause(); err != nil {
		t.Fatal(err)
	}
	thawed := false
	thaw := func() {
		if !thawed {
			thawed = true
			if err := pg.Resume(); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer thaw()

	type answer struct {
		what string
		err  error
		took time.Duration
	}
	answers := make(chan answer, each*len(calls))
	start := time.Now()
	for _, c := range calls {
		for i := range each {
			go func() {
				err := c.do(bg, i) // no deadline of its own: the store's bounds the call
				answers <- answer{fmt.Sprintf("%s %d", c.name, i), err, time.Since(start)}
			}()
		}
	}
	// A generous hard bound, for a loaded machine: an unanswered ping ends the wait of every
	// call (HealthInterval plus a ping of at most connectTimeout), a connection attempt takes at
	// most connectTimeout. Waiting in turn, the calls would take each*connectTimeout or more.
	bound := time.After(4 * connectTimeout)
	var slowest time.Duration
	for n := 0; n < each*len(calls); n++ {
		var a answer
		select {
		case a = <-answers:
		case <-bound:
			thaw()
			t.Errorf("%d of %d calls unanswered after %v with the database frozen", each*len(calls)-n, each*len(calls), 4*connectTimeout)
			select { // thawed, they end: wait for them before the Store closes
			case a = <-answers:
			case <-time.After(time.Minute):
				t.Fatal("calls still unanswered a minute after the thaw")
			}
		}
		slowest = max(slowest, a.took)
		if !thawed && !errors.Is(a.err, store.ErrUnavailable) {
			t.Errorf("%s with the database frozen: %v", a.what, a.err)
		}
	}
	t.Logf("%d calls on a frozen database, the last answered after %v", each*len(calls), slowest.Round(time.Millisecond))
	if err := st.Ready(); !thawed && !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ready with the database frozen: %v", err)
	}
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Error("the change feed did not report the frozen database: this node keeps its caches")
	}

	thaw()
	waitFor(t, "Ready to recover", func() bool { return st.Ready() == nil })
	if err := create(bg, "after"); err != nil {
		t.Fatalf("create after the thaw: %v", err)
	}
	if err := st.Audit(bg, detokenized); err != nil {
		t.Fatalf("audit after the thaw: %v", err)
	}
}
