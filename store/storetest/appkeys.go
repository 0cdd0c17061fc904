package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/store"
)

// testAppKeys: an application holds several live keys; each is found with its application,
// deleting one stops only it, deleting the application stops all (and a new application of the
// same id gets none of them back); other nodes hear of each change.
func testAppKeys(t *testing.T, _ Backend, s store.Store) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	first := Secrets[5]
	if err := s.CreateApplication(ctx, &store.Application{ID: "app", Name: "n", KeyHash: s.HashKey(first), CreatedBy: "admin", CreatedAt: now}, ev("create", "app")); err != nil {
		t.Fatal(err)
	}
	keys, err := s.AppKeys(ctx, "app")
	if err != nil || len(keys) != 1 || keys[0].ID != store.FirstKeyID(s.HashKey(first)) || keys[0].Version != 1 || keys[0].CreatedBy != "admin" || !keys[0].CreatedAt.Equal(now) {
		t.Fatalf("first key: %v %+v", err, keys)
	}
	addKey := func(id, key string) *store.AppKey {
		t.Helper()
		k := &store.AppKey{ID: id, ApplicationID: "app", KeyHash: s.HashKey(key), CreatedBy: "admin", CreatedAt: now}
		if err := s.CreateAppKey(ctx, k, ev("create", "app")); err != nil {
			t.Fatalf("create key %s: %v", id, err)
		}
		return k
	}
	if k := addKey("k2", "key_two"); k.Version != 2 {
		t.Fatalf("second key version %d", k.Version)
	}
	if k := addKey("k3", "key_three"); k.Version != 3 {
		t.Fatalf("third key version %d", k.Version)
	}
	for _, bad := range []struct {
		name string
		k    *store.AppKey
		want error
	}{
		{"same id", &store.AppKey{ID: "k2", ApplicationID: "app", KeyHash: s.HashKey("key_x")}, store.ErrConflict},
		{"same key", &store.AppKey{ID: "k9", ApplicationID: "app", KeyHash: s.HashKey("key_two")}, store.ErrConflict},
		{"first key's id", &store.AppKey{ID: keys[0].ID, ApplicationID: "app", KeyHash: s.HashKey("key_y")}, store.ErrConflict},
		{"unknown application", &store.AppKey{ID: "k9", ApplicationID: "nope", KeyHash: s.HashKey("key_z")}, store.ErrNotFound},
	} {
		if err := s.CreateAppKey(ctx, bad.k, ev("create", "app")); !errors.Is(err, bad.want) {
			t.Errorf("%s: %v, want %v", bad.name, err, bad.want)
		}
	}
	works := func(key, wantKeyID string) {
		t.Helper()
		a, k, err := s.ApplicationKey(ctx, key)
		if wantKeyID == "" {
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a stopped key still finds %v %v (%v)", a, k, err)
			}
			return
		}
		if err != nil || a.ID != "app" || k.ID != wantKeyID {
			t.Fatalf("key %s: %v %+v", wantKeyID, err, k)
		}
		if a2, err := s.ApplicationByKey(ctx, key); err != nil || a2.ID != "app" {
			t.Fatalf("by key: %v", err)
		}
	}
	works(first, keys[0].ID)
	works("key_two", "k2")
	works("key_three", "k3")
	if k, err := s.GetAppKey(ctx, "app", "k2"); err != nil || k.Version != 2 || k.ApplicationID != "app" {
		t.Fatalf("get key: %v %+v", err, k)
	}
	if _, err := s.GetAppKey(ctx, "app", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get missing key: %v", err)
	}

	changed := make(chan store.Change, 100)
	if f, ok := s.(store.ChangeFeed); ok {
		f.Subscribe(func(c store.Change) {
			select {
			case changed <- c:
			default:
			}
		})
	}
	stale, err := s.GetApplication(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAppKey(ctx, "app", keys[0].ID, ev("delete", "app")); err != nil {
		t.Fatal(err)
	}
	works(first, "")
	stale.Name = "renamed from a copy read before the delete"
	if err := s.UpdateApplication(ctx, stale, ev("update", "app")); err != nil {
		t.Fatal(err)
	}
	works(first, "")
	if keys, err := s.AppKeys(ctx, "app"); err != nil || len(keys) != 2 || keys[0].ID != "k2" {
		t.Fatalf("a deleted first key came back: %v %+v", err, keys)
	}
	works("key_two", "k2")
	if _, ok := s.(store.ChangeFeed); ok {
		awaitChange(t, changed, store.Change{Kind: store.ChangedApplication, ID: "app"})
	}
	if err := s.DeleteAppKey(ctx, "app", "k2", ev("delete", "app")); err != nil {
		t.Fatal(err)
	}
	works("key_two", "")
	works("key_three", "k3")
	if err := s.DeleteAppKey(ctx, "app", "k2", ev("delete", "app")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete a deleted key: %v", err)
	}
	if keys, err := s.AppKeys(ctx, "app"); err != nil || len(keys) != 1 || keys[0].ID != "k3" {
		t.Fatalf("keys left: %v %+v", err, keys)
	}
	if err := s.DeleteApplication(ctx, "app", ev("delete", "app")); err != nil {
		t.Fatal(err)
	}
	works("key_three", "")
	if _, err := s.AppKeys(ctx, "app"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("keys of a deleted application: %v", err)
	}
	if err := s.CreateApplication(ctx, &store.Application{ID: "app", KeyHash: s.HashKey("key_new")}, ev("create", "app")); err != nil {
		t.Fatal(err)
	}
	works("key_three", "")
	if keys, err := s.AppKeys(ctx, "app"); err != nil || len(keys) != 1 {
		t.Fatalf("a new application of the same id: %v %+v", err, keys)
	}
}

// awaitChange waits (up to a generous bound) for want on changed.
func awaitChange(t *testing.T, changed <-chan store.Change, want store.Change) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case c := <-changed:
			if c.Kind == want.Kind && c.ID == want.ID {
				return
			}
		case <-deadline:
			t.Fatalf("no change %+v", want)
		}
	}
}
