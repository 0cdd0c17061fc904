package obs

import (
	"io"
	"sync"
	"time"
)

// BufferedLog batches log lines into one write every flushEvery (or when a buffer fills),
// instead of one write(2) per request line: on this machine that syscall was a visible part
// of a proxied request's CPU. A crash can lose the last flushEvery of request logs; audit
// records never go through here.
//
// Request lines go to one of several shards, chosen by connection, so that requests served on
// different CPUs do not queue on one lock (a single buffer's mutex was ~0.7 µs of a request at
// c=32, most of it waking waiters). Lines of one connection, and all other log lines (shard 0),
// keep their order; lines of different shards can interleave out of order within a flush
// interval (each carries its own time).
type BufferedLog struct {
	outMu  sync.Mutex // serializes writes to out
	out    io.Writer
	shards [logShards]logShard
	stop   chan struct{}
	done   chan struct{}
}

const (
	logShards  = 8
	shardBytes = 16 << 10
	flushEvery = 100 * time.Millisecond
)

type logShard struct {
	mu  sync.Mutex
	buf []byte
	_   [40]byte // keeps neighbouring shards' locks off one cache line
}

// NewBufferedLog starts the flusher; Close stops it.
func NewBufferedLog(w io.Writer) *BufferedLog {
	b := &BufferedLog{out: w, stop: make(chan struct{}), done: make(chan struct{})}
	for i := range b.shards {
		b.shards[i].buf = make([]byte, 0, shardBytes)
	}
	go func() {
		defer close(b.done)
		t := time.NewTicker(flushEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				b.Flush()
			case <-b.stop:
				b.Flush()
				return
			}
		}
	}()
	return b
}

// Write keeps p (one whole log line from slog) for the next flush, in shard 0.
func (b *BufferedLog) Write(p []byte) (int, error) {
	return b.writeShard(0, p)
}

// writeLine keeps a request line for the next flush, in the shard of its connection.
func (b *BufferedLog) writeLine(conn uint64, p []byte) {
	b.writeShard(1+int(conn%(logShards-1)), p)
}

// lineRoom is the room a shard keeps for one request line encoded into it: a usual line is a
// few hundred bytes; a longer one grows the shard's buffer and goes out at once.
const lineRoom = 2 << 10

// writeRequestLine encodes l, ending at now, straight into its connection's shard (under the
// shard's lock): no line buffer of its own, no copy.
func (b *BufferedLog) writeRequestLine(l *RequestLine, now time.Time) {
	s := &b.shards[1+int(l.Conn%(logShards-1))]
	s.mu.Lock()
	if cap(s.buf)-len(s.buf) < lineRoom {
		b.flushShard(s)
	}
	s.buf = appendRequestLine(s.buf, now, l)
	if len(s.buf) > shardBytes {
		b.flushShard(s)
	}
	s.mu.Unlock()
}

func (b *BufferedLog) writeShard(i int, p []byte) (int, error) {
	s := &b.shards[i]
	s.mu.Lock()
	var err error
	if len(s.buf)+len(p) > cap(s.buf) {
		err = b.flushShard(s)
		if len(p) > cap(s.buf) { // a line bigger than the buffer goes out at once
			b.outMu.Lock()
			_, err = b.out.Write(p)
			b.outMu.Unlock()
			s.mu.Unlock()
			return len(p), err
		}
	}
	s.buf = append(s.buf, p...)
	s.mu.Unlock()
	return len(p), err
}

// flushShard writes out s's lines; s.mu is held.
func (b *BufferedLog) flushShard(s *logShard) error {
	if len(s.buf) == 0 {
		return nil
	}
	b.outMu.Lock()
	_, err := b.out.Write(s.buf)
	b.outMu.Unlock()
	s.buf = s.buf[:0]
	return err
}

// Flush writes out every shard.
func (b *BufferedLog) Flush() error {
	var err error
	for i := range b.shards {
		s := &b.shards[i]
		s.mu.Lock()
		if ferr := b.flushShard(s); err == nil {
			err = ferr
		}
		s.mu.Unlock()
	}
	return err
}

// Close flushes and stops the flusher.
func (b *BufferedLog) Close() error {
	close(b.stop)
	<-b.done
	return nil
}
