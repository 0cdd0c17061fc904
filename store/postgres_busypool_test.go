package store

import (
	"context"
	"errors"
	"testing"
	"time"
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
