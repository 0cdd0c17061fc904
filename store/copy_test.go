package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/sluice-edge/sluice/store/internal/pgtest"
)

func copyCounts(counts []CopyCount) map[string]CopyCount {
	m := map[string]CopyCount{}
	for _, c := range counts {
		m[c.Kind] = c
	}
	return m
}

// TestCopyInterruptedThenResumed copies a vault into PostgreSQL, stopping the first run after
// two batches: the second run finishes (writing only what the first did not), a third writes
// nothing, and a PostgreSQL store then finds every record.
func TestCopyInterruptedThenResumed(t *testing.T) {
	t.Parallel()
	url := pgtest.Database(t)
	key := testKey(9)
	dir := vaultDir(t)
	st := openEdgeSized(t, dir, key)
	const tokens, batch = 500, 100 // five batches: the first run stops after two
	f := fillVault(t, st, tokens)
	st.Close()

	stopped, stop := context.WithCancel(ctx)
	batches := 0
	_, err := CopyToPostgres(stopped, dir, key, url, CopyOptions{Batch: batch, Progress: func(kind string, done int) {
		if batches++; batches == 2 {
			stop()
		}
	}})
	if err == nil {
		t.Fatal("the interrupted copy succeeded")
	}
	counts, err := CopyToPostgres(ctx, dir, key, url, CopyOptions{Batch: batch})
	if err != nil {
		t.Fatal(err)
	}
	m := copyCounts(counts)
	// The first run committed at least two batches (more may have been under way).
	if tok := m["tokens"]; tok.Found != tokens || tok.Written == 0 || tok.Written > tokens-2*batch {
		t.Fatalf("resumed copy: tokens %+v, want %d found and only what the first run did not write", tok, tokens)
	}
	want := map[string]int{"dedupe claims": tokens, "applications": 1, "application keys": 1, "proxies": 2, "keys": 1,
		"transforms": 1, "reactors": 1, "idempotency records": 1, "audit events": tokens + 2 + 5 + 3}
	for kind, n := range want {
		if m[kind].Found != n || m[kind].Written != n {
			t.Errorf("%s: %+v, want %d found and written", kind, m[kind], n)
		}
	}
	again, err := CopyToPostgres(ctx, dir, key, url, CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range again {
		if c.Written != 0 {
			t.Errorf("a second copy wrote %d %s", c.Written, c.Kind)
		}
	}
	pg, err := OpenPostgres(ctx, url, PostgresOptions{MasterKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	checkVault(t, pg, f, 19)
}

// TestCopyRefusesAnotherVault: a database that already holds another vault (another root
// secret, or another master key) gets nothing.
func TestCopyRefusesAnotherVault(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		pgKey  []byte
		wantIs error
	}{
		{"same master key, other vault", testKey(9), ErrOtherVault},
		{"other master key", testKey(10), ErrOtherVault},
	} {
		t.Run(c.name, func(t *testing.T) {
			url := MigratedPostgresDatabase(t)
			other, err := OpenPostgres(ctx, url, PostgresOptions{MasterKey: c.pgKey})
			if err != nil {
				t.Fatal(err)
			}
			other.Close()
			dir := vaultDir(t)
			st := openAt(t, dir, testKey(9))
			fillVault(t, st, 10)
			st.Close()
			if _, err := CopyToPostgres(ctx, dir, testKey(9), url, CopyOptions{}); !errors.Is(err, c.wantIs) {
				t.Fatalf("copy: %v, want %v", err, c.wantIs)
			}
			pg, err := OpenPostgres(ctx, url, PostgresOptions{MasterKey: c.pgKey})
			if err != nil {
				t.Fatal(err)
			}
			defer pg.Close()
			if _, err := pg.GetToken(ctx, "tok-0000000"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("a refused copy wrote a token: %v", err)
			}
		})
	}
}

// TestCopyTellsRunningNodesToDropTheirCaches: a node already on the database that cached a
// token reads the copy's newer version of it (the copy announces that anything may have
// changed), well before a generous deadline.
func TestCopyTellsRunningNodesToDropTheirCaches(t *testing.T) {
	t.Parallel()
	url := MigratedPostgresDatabase(t)
	key := testKey(9)
	dir := vaultDir(t)
	st := openAt(t, dir, key)
	tok := card("cached", "4242424242424242")
	if _, _, err := st.CreateToken(ctx, tok, false, Event{}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := CopyToPostgres(ctx, dir, key, url, CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	node, err := OpenPostgres(ctx, url, PostgresOptions{MasterKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	if got, err := node.GetToken(ctx, "cached"); err != nil || !strings.Contains(string(got.Data), "4242424242424242") {
		t.Fatalf("before: %v", err)
	}
	st = openAt(t, dir, key)
	if err := st.UpdateToken(ctx, card("cached", "5555555555554444"), Event{}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	counts, err := CopyToPostgres(ctx, dir, key, url, CopyOptions{})
	if err != nil || copyCounts(counts)["tokens"].Written != 1 {
		t.Fatalf("second copy: %v %+v", err, counts)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := node.GetToken(ctx, "cached")
		if err == nil && strings.Contains(string(got.Data), "5555555555554444") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the running node still serves its cached copy: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCopyRefusesUnknownRecordFamily: a vault holding a kind of record the copy does not know
// (written by a newer version) is refused before anything reaches the database.
func TestCopyRefusesUnknownRecordFamily(t *testing.T) {
	t.Parallel()
	url := MigratedPostgresDatabase(t)
	dir := vaultDir(t)
	st := openAt(t, dir, testKey(9))
	fillVault(t, st, 10)
	if err := st.(*badgerStore).db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("q/new-kind"), []byte("{}")) }); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := CopyToPostgres(ctx, dir, testKey(9), url, CopyOptions{}); err == nil || !strings.Contains(err.Error(), `"q/"`) {
		t.Fatalf("copy: %v, want a refusal naming the family", err)
	}
	pg, err := OpenPostgres(ctx, url, PostgresOptions{MasterKey: testKey(10)}) // a fresh root: the copy left none
	if err != nil {
		t.Fatalf("the refused copy wrote into the database: %v", err)
	}
	pg.Close()
}
