package store_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-edge/sluice/store"
	"github.com/sluice-edge/sluice/store/internal/pgtest"
	"github.com/sluice-edge/sluice/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var testMaster = bytes.Repeat([]byte{9}, 32)

// openPostgres opens a vault in a new database and returns it with the database's URL.
func openPostgres(t *testing.T) (store.Store, string) {
	t.Helper()
	url := store.MigratedPostgresDatabase(t)
	s, err := store.OpenPostgres(context.Background(), url, store.PostgresOptions{MasterKey: testMaster})
	if err != nil {
		t.Fatal(err)
	}
	return s, url
}

// openPostgresAt opens another vault on the database at url.
func openPostgresAt(t *testing.T, url string) store.Store {
	t.Helper()
	s, err := store.OpenPostgres(context.Background(), url, store.PostgresOptions{MasterKey: testMaster})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// flipColumn changes one bit in the middle of a bytea column of the row where keyCol = key.
func flipColumn(t *testing.T, url, table, col, where string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v []byte
	if err := conn.QueryRow(ctx, "SELECT "+col+" FROM "+table+" WHERE "+where, args...).Scan(&v); err != nil {
		t.Fatal(err)
	}
	v[len(v)/2] ^= 1
	if _, err := conn.Exec(ctx, "UPDATE "+table+" SET "+col+" = $"+string(rune('1'+len(args)))+" WHERE "+where, append(args, v)...); err != nil {
		t.Fatal(err)
	}
}

// TestPostgresConformance runs the conformance suite on the PostgreSQL vault, a database per
// test; after each, no plaintext value, API key or private key the suite wrote is in any row
// (read through the vault's own pool while it is open: a connection costs the server a process).
func TestPostgresConformance(t *testing.T) {
	var mu sync.Mutex
	urls := map[store.Store]string{}
	url := func(s store.Store) string {
		mu.Lock()
		defer mu.Unlock()
		return urls[s]
	}
	storetest.Run(t, storetest.Backend{
		Parallel: true,
		Open: func(t *testing.T) store.Store {
			s, u := openPostgres(t)
			mu.Lock()
			urls[s] = u
			mu.Unlock()
			return s
		},
		AtRest: func(t *testing.T, s store.Store) {
			if pool := store.PostgresPool(s); pool != nil {
				assertNoSecretsAtRest(t, pgtest.DumpVia(t, pool))
			} else {
				assertNoSecretsAtRest(t, pgtest.Dump(t, url(s)))
			}
		},
		Reopen: func(t *testing.T, s store.Store) store.Store {
			u := url(s)
			s.Close()
			return openPostgresAt(t, u)
		},
		Sibling: func(t *testing.T, s store.Store) store.Store {
			n := openPostgresAt(t, url(s))
			t.Cleanup(func() { n.Close() })
			return n
		},
		FlipToken: func(t *testing.T, s store.Store, id string) {
			flipColumn(t, url(s), "tokens", "sealed", "id = $1", id)
			store.DropCached(s, id)
		},
		FlipDocument: func(t *testing.T, s store.Store, c store.Collection, id string) {
			flipColumn(t, url(s), "documents", "body", "collection = $1 AND id = $2", c.Prefix, id)
		},
	})
}

// assertNoSecretsAtRest looks for the suite's secrets in a dump of every row of the database,
// as text and as the hex PostgreSQL prints bytea in.
func assertNoSecretsAtRest(t *testing.T, dump string) {
	t.Helper()
	if !strings.Contains(dump, "-- tokens") {
		t.Fatal("the dump has no tokens table")
	}
	for _, secret := range storetest.Secrets {
		for _, form := range []string{secret, hex.EncodeToString([]byte(secret))} {
			if strings.Contains(dump, form) {
				t.Errorf("the database holds %q (as %q)", secret, form)
			}
		}
	}
}
