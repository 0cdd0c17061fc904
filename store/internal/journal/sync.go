package journal

import (
	"os"
	"time"
)

// committed makes append's records durable as configured, called with j.mu held once they are
// in a file (upTo is j.appended just after them): with a sync interval it wakes the syncer and
// returns at once; without one it waits for an fdatasync that covers them, shared with every
// append that arrived meanwhile.
func (j *Journal) committed(upTo uint64) error {
	if j.syncEvery > 0 {
		j.wake()
		return nil
	}
	return j.syncTo(upTo)
}

// wake starts the syncer's countdown for the records since the last sync, once. Called with
// j.mu held.
func (j *Journal) wake() {
	if j.armed || j.kick == nil {
		return
	}
	j.armed = true
	select {
	case j.kick <- struct{}{}:
	default:
	}
}

// syncLoop is the syncer: woken by the first record after a sync, it waits syncEvery and then
// syncs everything appended so far. A record therefore reaches stable storage at most syncEvery
// (plus the fdatasync itself) after it was appended, and an idle journal costs nothing.
func (j *Journal) syncLoop() {
	defer close(j.syncDone)
	t := time.NewTimer(0)
	<-t.C
	for {
		select {
		case <-j.stopSync:
			return
		case <-j.kick:
		}
		t.Reset(j.syncEvery)
		select {
		case <-j.stopSync:
			t.Stop()
			return // close syncs what is left
		case <-t.C:
		}
		j.mu.Lock()
		if err := j.syncTo(j.appended); err != nil {
			j.wake() // appends fail until a sync succeeds: try again after the interval
		}
		j.mu.Unlock()
	}
}

// syncTo returns once the records up to upTo are on stable storage. One caller at a time runs
// the fdatasync (outside j.mu), covering every record appended when it starts; the others
// wait for it. Called with j.mu held.
func (j *Journal) syncTo(upTo uint64) error {
	for j.synced < upTo {
		if j.syncing {
			j.syncEnd.Wait()
			continue
		}
		target, files, dirty := j.appended, j.retired, j.dirDirty
		cur := j.current()
		j.retired, j.dirDirty, j.armed, j.syncing = nil, false, false, true
		j.mu.Unlock()
		err := syncFiles(j.dir, cur, files, dirty, j.fsync)
		j.mu.Lock()
		j.syncing = false
		j.syncEnd.Broadcast()
		if err != nil {
			// The records of this window may not be durable: appends fail until a sync of the
			// current segment succeeds (a retired file is not tried twice: its error was this one).
			j.dirDirty = j.dirDirty || dirty
			j.syncErr = err
			return fileError(err)
		}
		j.synced, j.syncErr = max(j.synced, target), nil
	}
	return nil
}

// current is the segment file being appended to, if any.
func (j *Journal) current() *os.File {
	if j.mapped != nil {
		return j.mapped.f
	}
	return j.f
}

// retire queues f, a segment that takes no more appends, for its last sync and close. Called
// with j.mu held.
func (j *Journal) retire(f *os.File) {
	if f != nil {
		j.retired = append(j.retired, f)
	}
}

// syncFiles fdatasyncs the current segment and the retired ones (closing those, synced or
// not), then the directory when segments were created or removed: a new file is durable only once its
// directory entry is.
func syncFiles(dir string, cur *os.File, retired []*os.File, dirty bool, fdatasync func(*os.File) error) error {
	var first error
	keep := func(err error) {
		if first == nil {
			first = err
		}
	}
	for _, f := range retired {
		keep(fdatasync(f))
	}
	if cur != nil {
		keep(fdatasync(cur))
	}
	if dirty {
		if d, err := os.Open(dir); err != nil {
			keep(err)
		} else {
			keep(d.Sync())
			d.Close()
		}
	}
	for _, f := range retired {
		f.Close()
	}
	return first
}
