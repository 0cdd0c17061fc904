package server

import (
	"sync"
	"time"

	"github.com/sluice-edge/sluice/server/internal/api"
	"github.com/sluice-edge/sluice/store"
)

// Nodes that share a vault (PostgreSQL) keep their caches coherent through the store's change
// feed (SPEC §11): each change committed through any node reaches every node, which drops or
// reads again what it cached of that record. The sealed token cache is the store's own: the
// feed drops its entries before it tells the server.

// refreshRetry is how long a failed read of changed records waits before it is tried again (the
// vault may be unreachable).
const refreshRetry = 250 * time.Millisecond

// follow subscribes to feed and starts the goroutine that reads changed records again.
func (s *Server) follow(feed store.ChangeFeed) {
	s.stale = newStaleSet()
	feed.Subscribe(s.changed)
	s.stale.addAll() // what changed between the rooms' first reads and the subscription
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		s.refreshLoop()
	}()
}

// changed is called by the feed for every change, from one goroutine, and must return quickly:
// caches that only drop entries do it here; what must be read again is left to refreshLoop.
func (s *Server) changed(c store.Change) {
	switch c.Kind {
	case store.ChangedApplication:
		s.auth.Invalidate() // every principal: application changes are rare
	case store.ChangedDocument:
		switch c.Prefix {
		case store.Keys.Prefix:
			s.keys.Forget(c.ID)
			s.decrypter.Purge()
		case store.Proxies.Prefix, store.Transforms.Prefix:
			s.stale.add(c.Prefix, c.ID)
		}
	case store.ChangedUnknown: // changes may have been missed
		s.auth.Invalidate()
		s.keys.ForgetAll()
		s.decrypter.Purge()
		s.stale.addAll()
	}
}

// refreshLoop reads changed proxies and modules again until the Server closes; what cannot be
// read (the vault is unreachable) is tried again after refreshRetry.
func (s *Server) refreshLoop() {
	for {
		select {
		case <-s.background.Done():
			return
		case <-s.stale.wake:
		}
		if !s.refresh() {
			select {
			case <-s.background.Done():
				return
			case <-time.After(refreshRetry):
				s.stale.poke()
			}
		}
	}
}

// refresh reads again what is stale, modules before the proxies that may use them. It reports
// whether everything was read; what was not stays stale.
func (s *Server) refresh() bool {
	all, ids := s.stale.take()
	ok := true
	if all {
		if err := s.refreshAll(); err != nil {
			s.log.Warn("change feed: cached records not read again", "error", err.Error())
			s.stale.addAll()
			ok = false
		}
	}
	for _, prefix := range []string{store.Transforms.Prefix, store.Proxies.Prefix} {
		for id := range ids[prefix] {
			if err := s.refreshOne(prefix, id); err != nil {
				s.log.Warn("change feed: record not read again", "collection", prefix, "id", id, "error", err.Error())
				s.stale.add(prefix, id)
				ok = false
			}
		}
	}
	return ok
}

func (s *Server) refreshAll() error {
	if err := api.SyncModules(s.background, s.store, s.wasm, s.log); err != nil {
		return err
	}
	return s.proxy.ReloadAll(s.background)
}

func (s *Server) refreshOne(prefix, id string) error {
	if prefix == store.Transforms.Prefix {
		return api.SyncModule(s.background, s.store, s.wasm, s.log, id)
	}
	return s.proxy.Reload(s.background, id)
}

// staleSet is what refreshLoop must read again: records by collection prefix and id, or all.
type staleSet struct {
	mu   sync.Mutex
	all  bool
	ids  map[string]map[string]struct{}
	wake chan struct{} // holds one signal while there is work
}

func newStaleSet() *staleSet {
	return &staleSet{ids: map[string]map[string]struct{}{}, wake: make(chan struct{}, 1)}
}

func (t *staleSet) add(prefix, id string) {
	t.mu.Lock()
	if t.ids[prefix] == nil {
		t.ids[prefix] = map[string]struct{}{}
	}
	t.ids[prefix][id] = struct{}{}
	t.mu.Unlock()
	t.poke()
}

func (t *staleSet) addAll() {
	t.mu.Lock()
	t.all = true
	t.mu.Unlock()
	t.poke()
}

// take empties the set and returns what it held.
func (t *staleSet) take() (all bool, ids map[string]map[string]struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	all, ids = t.all, t.ids
	t.all, t.ids = false, map[string]map[string]struct{}{}
	return all, ids
}

func (t *staleSet) poke() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}
