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

// gcRounds bounds the value-log files one collect rewrites.
const gcRounds = 16

// collect gives space back: journal segments past the audit retention are removed (0 keeps
// them), and value-log files of which half or more is dead (deleted, expired or overwritten
// tokens) are rewritten. Deleted and expired records in the LSM tree are dropped by Badger's
// compactions. Below the disk reserve the value log is left alone: a rewrite writes before it
// frees.
func (s *badgerStore) collect(retention time.Duration) error {
	var err error
	if retention > 0 && s.journal != nil {
		err = s.journal.dropBefore(time.Now().Add(-retention))
	}
	if s.disk != nil && s.disk.sample() != nil {
		return err
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
