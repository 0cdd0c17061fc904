package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestPostgresBusyPoolIsNoOutage: a healthy database whose pool is fully taken (every
// connection held by a call, as under a burst of load or with calls waiting on a lock) answers the
// health check: a busy pool is not an outage. A ping that waited for one of the pool's
// connections would time out, and its outage would cut every call under way and refuse the
// next ones until the following ping.
func TestPostgresBusyPoolIsNoOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := MigratedPostgresDatabase(t)
	const conns = 2
	st, err := OpenPostgres(ctx, url, PostgresOptions{MasterKey: testKey(1), MaxConns: conns,
		ConnectTimeout: time.Second, HealthInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := st.(*pgStore)
	for range conns {
		c, err := s.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
	}
	s.ping()
	if err := s.Ready(); err != nil {
		t.Fatalf("a healthy database with a busy pool is reported down: %v", err)
	}
	if err := s.out.refused(); errors.Is(err, ErrUnavailable) {
		t.Fatalf("a healthy database with a busy pool is refused: %v", err)
	}
}

// TestPostgresKilledConnectionsAreNoOutage: the database ends this node's connections (an
// administrator's pg_terminate_backend, a pooler or proxy restarting in between) and goes on
// answering: the health check reconnects within its ping instead of taking the dead
// connection's error for an outage that would refuse every call until the next ping.
func TestPostgresKilledConnectionsAreNoOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := MigratedPostgresDatabase(t)
	st, err := OpenPostgres(ctx, url, PostgresOptions{MasterKey: testKey(1), HealthInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := st.(*pgStore)
	s.ping()
	if err := s.Ready(); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var killed int
	if err := admin.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed == 0 {
		t.Fatal("no connection of the store's to end")
	}
	s.ping()
	if err := s.Ready(); err != nil {
		t.Fatalf("a database that ended %d connections and answers is reported down: %v", killed, err)
	}
}
