package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/sluice-edge/sluice/store"
	"github.com/sluice-edge/sluice/transforms"
)

// Hooks for nodes that share a vault: another node changed a record this node caches.

// Forget drops key kid from the cache (another node deleted or changed it).
func (s *Keys) Forget(kid string) { s.forget(kid) }

// ForgetAll drops every cached key, and any read that began before.
func (s *Keys) ForgetAll() {
	s.keyGen.Add(1)
	s.keyCache.Clear()
}

// SyncModule makes eng hold module id exactly when the vault does: compiled when another node
// uploaded it, removed when another node deleted it. A stored module that no longer compiles is
// logged, not retried.
func SyncModule(ctx context.Context, st store.Store, eng *transforms.Engine, log *slog.Logger, id string) error {
	d, err := st.Get(ctx, store.Transforms, id)
	if errors.Is(err, store.ErrNotFound) {
		eng.Remove(id)
		return nil
	}
	if err != nil {
		return err
	}
	return compileStored(ctx, eng, log, d)
}

// SyncModules compiles every stored module eng does not hold yet.
func SyncModules(ctx context.Context, st store.Store, eng *transforms.Engine, log *slog.Logger) error {
	docs, err := st.List(ctx, store.Transforms)
	if err != nil {
		return err
	}
	for _, d := range docs {
		if err := compileStored(ctx, eng, log, d); err != nil {
			return err
		}
	}
	return nil
}

// compileStored compiles the module record d. Only a failure worth retrying is returned.
func compileStored(ctx context.Context, eng *transforms.Engine, log *slog.Logger, d []byte) error {
	var r moduleRecord
	if err := json.Unmarshal(d, &r); err != nil {
		return err
	}
	if eng.Has(r.ID) {
		return nil
	}
	_, err := eng.Compile(ctx, r.Code)
	if errors.Is(err, transforms.ErrInvalidModule) {
		log.Error("stored transform no longer compiles", "module_id", r.ID, "error", err.Error())
		return nil
	}
	return err
}
