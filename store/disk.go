package store

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrUnavailable marks a refusal the caller may retry later (503 with Retry-After): nothing was
// written. ErrDiskLow is the one cause today.
var (
	ErrUnavailable = errors.New("store: unavailable")
	ErrDiskLow     = fmt.Errorf("%w: free disk space is below the reserve", ErrUnavailable)
)

// DefaultDiskReserve is the free space kept on the data directory's file system. Below it the
// vault refuses writes and audited reads, so that what Badger may still write on its own (a
// memtable flush, a level-0 compaction) and the journal's next segment fit: Badger writes its
// memtables and new tables through memory mappings of sparse files, and a page that cannot be
// allocated there kills the process with SIGBUS instead of returning an error. See RATIONALE.md,
// "A full disk".
const DefaultDiskReserve = 256 << 20

// diskSampleEvery is how often the guard samples free space in the background. Writes that
// sync anyway also sample before they start; the audit path reads the last sample.
const diskSampleEvery = 250 * time.Millisecond

// diskGuard watches the free space of the file system that holds the data directory.
type diskGuard struct {
	log     *slog.Logger // nil: silent
	dir     string
	reserve uint64
	free    func(dir string) (uint64, error)
	avail   atomic.Uint64 // bytes free for unprivileged users at the last sample
	low     atomic.Bool   // avail < reserve at the last sample
	stop    chan struct{}
	done    chan struct{}
}

func newDiskGuard(dir string, reserve uint64, log *slog.Logger) *diskGuard {
	return &diskGuard{dir: dir, reserve: reserve, free: freeBytes, log: log}
}

// sample reads the free space now and returns ErrDiskLow (with the numbers) when it is below the
// reserve. A file system that cannot be asked is not a reason to refuse.
func (g *diskGuard) sample() error {
	n, err := g.free(g.dir)
	if err != nil {
		g.low.Store(false)
		return nil
	}
	g.avail.Store(n)
	low := n < g.reserve
	if was := g.low.Swap(low); was != low && g.log != nil {
		if low {
			g.log.Warn("store: free disk space below the reserve: refusing writes and detokenizations",
				"free_bytes", n, "reserve_bytes", g.reserve, "dir", g.dir)
		} else {
			g.log.Info("store: free disk space above the reserve again: writes resume", "free_bytes", n, "reserve_bytes", g.reserve)
		}
	}
	if low {
		return g.lowError(n)
	}
	return nil
}

// admit is the hot path's check: the last sample, one atomic load.
func (g *diskGuard) admit() error {
	if g.low.Load() {
		return g.lowError(g.avail.Load())
	}
	return nil
}

func (g *diskGuard) lowError(avail uint64) error {
	return fmt.Errorf("%w (%s free on the file system of %s, reserve %s)", ErrDiskLow, mib(avail), g.dir, mib(g.reserve))
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// watch samples every interval until close.
func (g *diskGuard) watch(every time.Duration) {
	g.stop, g.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(g.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-g.stop:
				return
			case <-t.C:
				g.sample()
			}
		}
	}()
}

func (g *diskGuard) close() {
	if g.stop != nil {
		close(g.stop)
		<-g.done
		g.stop = nil
	}
}

// noSpace reports whether err is the file system saying it is full.
func noSpace(err error) bool { return errors.Is(err, syscall.ENOSPC) }
