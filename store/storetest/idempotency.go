package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/store"
)

const day = 24 * time.Hour

func begin(t *testing.T, s store.Store, scope, key, hash string, ttl time.Duration) store.IdemResult {
	t.Helper()
	r, err := s.BeginIdempotent(ctx, scope, key, []byte(hash), ttl)
	if err != nil {
		t.Fatalf("begin %s/%s: %v", scope, key, err)
	}
	return r
}

// testIdempotency: a claim, then in flight for the same request, a mismatch for another, the
// kept answer after Finish, scopes apart, Abandon frees the key, a stale claim cannot finish,
// records expire and unfinished claims lapse.
func testIdempotency(t *testing.T, _ Backend, s store.Store) {
	body := []byte(`{"data":"` + Secrets[1] + `"}`) // an answer holds plaintext: sealed at rest
	first := begin(t, s, "app", "k1", "h1", day)
	if first.State != store.IdemNew || first.Claim == "" {
		t.Fatalf("first: %+v", first)
	}
	for _, tc := range []struct {
		name, scope, hash string
		want              store.IdemState
	}{{"same request in flight", "app", "h1", store.IdemInFlight}, {"other request in flight", "app", "h2", store.IdemMismatch}} {
		if r := begin(t, s, tc.scope, "k1", tc.hash, day); r.State != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, r.State, tc.want)
		}
	}
	if err := s.FinishIdempotent(ctx, "app", "k1", "not-the-claim", 201, body); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("finish with another claim: %v", err)
	}
	if err := s.FinishIdempotent(ctx, "app", "k1", first.Claim, 201, body); err != nil {
		t.Fatal(err)
	}
	if r := begin(t, s, "app", "k1", "h1", day); r.State != store.IdemDone || r.Status != 201 || string(r.Body) != string(body) {
		t.Fatalf("replay: %+v", r)
	}
	if r := begin(t, s, "app", "k1", "h2", day); r.State != store.IdemMismatch {
		t.Fatalf("other request after done: %v", r.State)
	}
	if err := s.FinishIdempotent(ctx, "app", "k1", first.Claim, 500, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("finish twice: %v", err)
	}
	if r := begin(t, s, "other-app", "k1", "h1", day); r.State != store.IdemNew {
		t.Fatalf("another scope: %v", r.State)
	}

	abandoned := begin(t, s, "app", "k2", "h1", day)
	if err := s.AbandonIdempotent(ctx, "app", "k2", "not-the-claim"); err != nil {
		t.Fatal(err)
	}
	if r := begin(t, s, "app", "k2", "h1", day); r.State != store.IdemInFlight {
		t.Fatalf("abandoned by another claim: %v", r.State)
	}
	if err := s.AbandonIdempotent(ctx, "app", "k2", abandoned.Claim); err != nil {
		t.Fatal(err)
	}
	if r := begin(t, s, "app", "k2", "h2", day); r.State != store.IdemNew {
		t.Fatalf("after abandon: %v", r.State)
	}

	short := time.Second
	lapsing := begin(t, s, "app", "k3", "h1", short)
	done := begin(t, s, "app", "k4", "h1", short)
	if err := s.FinishIdempotent(ctx, "app", "k4", done.Claim, 200, body); err != nil {
		t.Fatal(err)
	}
	waitPast(time.Now().Add(short))
	for _, k := range []string{"k3", "k4"} {
		if r := begin(t, s, "app", k, "h2", day); r.State != store.IdemNew {
			t.Errorf("%s after its TTL: %v", k, r.State)
		}
	}
	if err := s.FinishIdempotent(ctx, "app", "k3", lapsing.Claim, 200, body); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a lapsed claim finished: %v", err)
	}
	for _, bad := range []struct{ key string }{{""}, {"nul\x00"}} {
		if _, err := s.BeginIdempotent(ctx, "app", bad.key, []byte("h"), day); !errors.Is(err, store.ErrInvalidInput) {
			t.Errorf("key %q: %v", bad.key, err)
		}
	}
}

// testIdempotencyRace: callers racing for one key on two nodes of the vault (one node where the
// backend has only one): exactly one owns it, every other finds it in flight.
func testIdempotencyRace(t *testing.T, b Backend, s store.Store) {
	nodes := []store.Store{s, s}
	if b.Sibling != nil {
		nodes[1] = b.Sibling(t, s)
	}
	for round := range 5 {
		key := fmt.Sprint("race-", round)
		var owners, inFlight atomic.Int64
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := nodes[i%2].BeginIdempotent(ctx, "app", key, []byte("h"), day)
				switch {
				case err != nil:
					t.Error(err)
				case r.State == store.IdemNew:
					owners.Add(1)
				case r.State == store.IdemInFlight:
					inFlight.Add(1)
				}
			}()
		}
		wg.Wait()
		if owners.Load() != 1 || inFlight.Load() != 15 {
			t.Fatalf("round %d: %d owners, %d in flight", round, owners.Load(), inFlight.Load())
		}
	}
}

// testIdempotencyRestart: a kept answer and an in-flight claim survive a restart.
func testIdempotencyRestart(t *testing.T, b Backend, s store.Store) {
	if b.Reopen == nil {
		t.Skip("the backend cannot reopen")
	}
	done := begin(t, s, "app", "done", "h", day)
	if err := s.FinishIdempotent(ctx, "app", "done", done.Claim, 201, []byte(`{"id":"x"}`)); err != nil {
		t.Fatal(err)
	}
	flying := begin(t, s, "app", "flying", "h", day)
	s = b.Reopen(t, s)
	defer s.Close()
	if r := begin(t, s, "app", "done", "h", day); r.State != store.IdemDone || r.Status != 201 || string(r.Body) != `{"id":"x"}` {
		t.Fatalf("after restart: %+v", r)
	}
	if r := begin(t, s, "app", "flying", "h", day); r.State != store.IdemInFlight {
		t.Fatalf("in flight after restart: %v", r.State)
	}
	if err := s.FinishIdempotent(ctx, "app", "flying", flying.Claim, 200, nil); err != nil {
		t.Fatalf("finish after restart: %v", err)
	}
}
