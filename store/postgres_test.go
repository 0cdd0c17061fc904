package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-edge/sluice/store"
	"github.com/sluice-edge/sluice/store/internal/pgtest"
)

var bg = context.Background()

func exec(t *testing.T, url, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(bg, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(bg)
	if _, err := conn.Exec(bg, sql, args...); err != nil {
		t.Fatal(err)
	}
}

func countRows(t *testing.T, url, sql string) int {
	t.Helper()
	conn, err := pgx.Connect(bg, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(bg)
	var n int
	if err := conn.QueryRow(bg, sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPostgresRefusesNewerSchema: a node does not run against a schema migrated by a newer
// version: a clear error that names the version.
func TestPostgresRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	s, url := openPostgres(t)
	s.Close()
	exec(t, url, "INSERT INTO schema_version (version) VALUES (9999)")
	_, err := store.OpenPostgres(bg, url, store.PostgresOptions{MasterKey: testMaster})
	if !errors.Is(err, store.ErrSchemaTooNew) || !bytes.Contains([]byte(err.Error()), []byte("9999")) {
		t.Fatalf("open against a newer schema: %v", err)
	}
}

// TestPostgresNodesStartingTogetherMigrateOnce: nodes opening a fresh database at once all
// start, share one root secret, and the schema is applied once.
func TestPostgresNodesStartingTogetherMigrateOnce(t *testing.T) {
	t.Parallel()
	url := pgtest.Database(t)
	const nodes = 4
	stores := make([]store.Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = store.OpenPostgres(bg, url, store.PostgresOptions{MasterKey: testMaster})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	for i := 1; i < nodes; i++ {
		if stores[i].Fingerprint("card", []byte("4242")) != stores[0].Fingerprint("card", []byte("4242")) {
			t.Fatal("nodes derived different keys: more than one root secret")
		}
	}
	conn, err := pgx.Connect(bg, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(bg)
	var applied, versions int
	conn.QueryRow(bg, "SELECT count(*), count(DISTINCT version) FROM schema_version").Scan(&applied, &versions)
	if applied != versions || applied == 0 {
		t.Fatalf("%d migrations applied for %d versions", applied, versions)
	}
}

// TestPostgresWrongMasterKeyRefused: another master key does not open the vault's root secret.
func TestPostgresWrongMasterKeyRefused(t *testing.T) {
	t.Parallel()
	s, url := openPostgres(t)
	s.Close()
	if _, err := store.OpenPostgres(bg, url, store.PostgresOptions{MasterKey: bytes.Repeat([]byte{1}, 32)}); !errors.Is(err, store.ErrWrongKey) {
		t.Fatalf("wrong key: %v", err)
	}
}

// TestPostgresSilentServerIsUnavailable: a server that accepts connections and never answers
// (a black hole) fails the open with ErrUnavailable after the connect timeout; no hang.
func TestPostgresSilentServerIsUnavailable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	done := make(chan error, 1)
	go func() {
		_, err := store.OpenPostgres(bg, fmt.Sprintf("postgres://u@%s/db?sslmode=disable", l.Addr()),
			store.PostgresOptions{MasterKey: testMaster, ConnectTimeout: 500 * time.Millisecond})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("open against a silent server: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("open against a silent server hangs")
	}
	// Nothing listening at all: refused at once.
	addr := l.Addr().String()
	l.Close()
	if _, err := store.OpenPostgres(bg, "postgres://u@"+addr+"/db?sslmode=disable", store.PostgresOptions{MasterKey: testMaster}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("open with nothing listening: %v", err)
	}
}

// TestPostgresOutageAndRecovery: with the database stopped, writes, reads that miss the cache
// and Audit fail with ErrUnavailable (never a success without its record) and Ready says so;
// started again, the same Store recovers by itself.
func TestPostgresOutageAndRecovery(t *testing.T) {
	pg := pgtest.Server()
	if pg == nil {
		t.Skip("needs the cluster pgtest starts (not SLUICE_TEST_DATABASE_URL) to stop and start it")
	}
	url := store.MigratedPostgresDatabase(t)
	st, err := store.OpenPostgres(bg, url, store.PostgresOptions{MasterKey: testMaster, HealthInterval: 50 * time.Millisecond, ConnectTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, _, err := st.CreateToken(bg, &store.Token{ID: "before", Type: "token", Data: []byte(`"v"`)}, false, store.Event{Operation: "create"}); err != nil {
		t.Fatal(err)
	}
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted {
			pg.Start()
		}
	}()
	ctx, cancel := context.WithTimeout(bg, 20*time.Second)
	defer cancel()
	for _, op := range []struct {
		name string
		do   func() error
	}{
		{"create", func() error {
			_, _, err := st.CreateToken(ctx, &store.Token{ID: "during", Type: "token", Data: []byte(`"v"`)}, false, store.Event{Operation: "create"})
			return err
		}},
		{"get", func() error { _, err := st.GetToken(ctx, "not-cached"); return err }},
		{"audit", func() error {
			return st.Audit(ctx, store.Event{EntityType: "token", EntityID: "before", Operation: "detokenize"})
		}},
		{"events", func() error { _, _, err := st.Events(ctx, store.EventQuery{}); return err }},
	} {
		if err := op.do(); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("%s with the database down: %v", op.name, err)
		}
	}
	waitFor(t, "Ready to report the outage", func() bool { return errors.Is(st.Ready(), store.ErrUnavailable) })

	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	waitFor(t, "Ready to recover", func() bool { return st.Ready() == nil })
	if err := st.Audit(bg, store.Event{EntityType: "token", EntityID: "before", Operation: "detokenize"}); err != nil {
		t.Fatalf("audit after recovery: %v", err)
	}
	if _, err := st.GetToken(bg, "before"); err != nil {
		t.Fatalf("get after recovery: %v", err)
	}
	evs, _, err := st.Events(bg, store.EventQuery{Operation: "detokenize"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("audit events after the outage: %v %d (the refused one must not be there)", err, len(evs))
	}
}

// waitFor polls cond until it holds, failing after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPostgresRekey: after a rekey the new master key opens the vault and every token, key
// hash and fingerprint still works; the old key is refused; a wrong old key changes nothing.
func TestPostgresRekey(t *testing.T) {
	t.Parallel()
	s, url := openPostgres(t)
	fp := s.Fingerprint("card", []byte("4242424242424242"))
	s.CreateToken(bg, &store.Token{ID: "r", Type: "card", Data: []byte(`"4242424242424242"`), Fingerprint: fp}, false, store.Event{Operation: "create"})
	s.CreateApplication(bg, &store.Application{ID: "a", KeyHash: s.HashKey("key_app")}, store.Event{Operation: "create"})
	s.Close()
	newKey := bytes.Repeat([]byte{10}, 32)
	if err := store.RekeyPostgres(bg, url, newKey, testMaster); !errors.Is(err, store.ErrWrongKey) {
		t.Fatalf("rekey with a wrong old key: %v", err)
	}
	if err := store.RekeyPostgres(bg, url, testMaster, newKey); err != nil {
		t.Fatal(err)
	}
	if _, err := store.OpenPostgres(bg, url, store.PostgresOptions{MasterKey: testMaster}); !errors.Is(err, store.ErrWrongKey) {
		t.Fatalf("the old key after a rekey: %v", err)
	}
	s, err := store.OpenPostgres(bg, url, store.PostgresOptions{MasterKey: newKey})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if tok, err := s.GetToken(bg, "r"); err != nil || string(tok.Data) != `"4242424242424242"` {
		t.Fatalf("token after rekey: %v", err)
	}
	if a, err := s.ApplicationByKey(bg, "key_app"); err != nil || a.ID != "a" {
		t.Fatalf("API key after rekey: %v", err)
	}
	if s.Fingerprint("card", []byte("4242424242424242")) != fp {
		t.Fatal("fingerprints changed with the master key")
	}
}
