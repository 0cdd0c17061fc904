package store

import (
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// maintainer runs the vault's upkeep in the background until close.
type maintainer struct {
	stop, done chan struct{}
}

// maintain starts the upkeep of a vault on disk: every opt.GCInterval, collect.
func (s *badgerStore) maintain(opt Options) *maintainer {
	if opt.InMemory {
		return nil
	}
	every := opt.GCInterval
	if every <= 0 {
		every = DefaultGCInterval
	}
	m := &maintainer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				if err := s.collect(opt.AuditRetention); err != nil {
					badgerLogger{opt.Logger}.Warningf("store: upkeep: %v", err)
				}
			}
		}
	}()
	return m
}

func (m *maintainer) close() {
	if m != nil {
		close(m.stop)
		<-m.done
	}
}

// gcRounds bounds the value-log files one collect rewrites (Badger stops earlier when no file
// is half dead).
const gcRounds = 1 << 10

// collect gives space back. Journal segments past the audit retention are removed (0 keeps
// them). When the tokens deleted since the last time make up a quarter of the vault, the LSM
// tree is compacted into one level, which drops them (Badger's own compactions drop a deleted
// record only when a level overflows, or, for a table at least an hour old with 10 MB of dead
// records); expired tokens are left to those. Then value-log files of which half or more is
// dead are rewritten. Below the disk reserve only retention runs: compaction and rewrites
// write before they free.
func (s *badgerStore) collect(retention time.Duration) error {
	var err error
	if retention > 0 && s.journal != nil {
		err = journalErr(s.journal.DropBefore(time.Now().Add(-retention)))
	}
	if s.disk != nil && s.disk.sample() != nil {
		return err
	}
	lsm, vlog := s.db.Size()
	if dead := s.dead.Load(); dead > 0 && dead >= (lsm+vlog)/4 {
		if ferr := s.compact(); ferr != nil {
			return errors.Join(err, ferr)
		}
		s.dead.Add(-dead)
	}
	for range gcRounds {
		gerr := s.db.RunValueLogGC(0.5)
		if errors.Is(gerr, badger.ErrNoRewrite) || errors.Is(gerr, badger.ErrRejected) {
			break
		}
		if gerr != nil {
			return errors.Join(err, gerr)
		}
	}
	return err
}

// compact flushes the memtables (so that compaction sees the latest deletes) and compacts the
// LSM tree into one level, dropping deleted records and telling the value log which of its
// entries are dead. Badger has no call to flush; dropping a prefix flushes first (holding writes
// meanwhile: write retries), so a marker key is written and dropped.
func (s *badgerStore) compact() error {
	if err := s.write(func(txn *badger.Txn) error { return txn.Set([]byte(keyFlushMarker), nil) }); err != nil {
		return err
	}
	if err := s.db.DropPrefix([]byte(keyFlushMarker)); err != nil {
		return err
	}
	return s.db.Flatten(1)
}
