package store

import (
	"sync"
	"sync/atomic"
	"time"
)

// sealedCache keeps recently read token records as they are stored: sealed. A hit spares the
// Badger read but still opens the envelope, so no plaintext is ever cached and a hit proves the
// value's integrity like a read does.
//
// Writes bump gen and drop the id; a read only fills the cache if no write happened since it
// began, so a racing read can never re-insert a value older than a write.
type sealedCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]*cacheEntry
	gen     atomic.Uint64
}

type cacheEntry struct {
	token     []byte    // sealed token record
	ephem     []byte    // sealed short-lived fields, or nil
	ephemTill time.Time // when ephem stops being valid
	expires   time.Time // zero: never
}

func newSealedCache(max int) *sealedCache {
	if max <= 0 {
		return nil
	}
	return &sealedCache{max: max, entries: make(map[string]*cacheEntry, max)}
}

func (c *sealedCache) get(id string) *cacheEntry {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	e := c.entries[id]
	c.mu.Unlock()
	if e != nil && !e.expires.IsZero() && !e.expires.After(time.Now()) {
		return nil
	}
	return e
}

// put stores e for id if no write happened since gen was read.
func (c *sealedCache) put(id string, e *cacheEntry, gen uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	if len(c.entries) >= c.max {
		for k := range c.entries { // Go's map order is random: a cheap random eviction
			delete(c.entries, k)
			break
		}
	}
	c.entries[id] = e
}

// drop forgets id and invalidates reads in flight.
func (c *sealedCache) drop(id string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.gen.Add(1)
	delete(c.entries, id)
	c.mu.Unlock()
}

func (c *sealedCache) generation() uint64 {
	if c == nil {
		return 0
	}
	return c.gen.Load()
}

// dropAll forgets every entry and invalidates reads in flight.
func (c *sealedCache) dropAll() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.gen.Add(1)
	clear(c.entries)
	c.mu.Unlock()
}
