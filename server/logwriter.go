package server

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// bufferedLog batches log lines into one write every flushEvery (or 64 KiB), instead of one
// write(2) per request line: on this machine that syscall was a visible part of a proxied
// request's CPU. A crash can lose the last flushEvery of request logs; audit records never go
// through here.
type bufferedLog struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

const flushEvery = 100 * time.Millisecond

func newBufferedLog(w io.Writer) *bufferedLog {
	b := &bufferedLog{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
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

// Write keeps p (one whole log line from slog) for the next flush.
func (b *bufferedLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

func (b *bufferedLog) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Flush()
}

// Close flushes and stops the flusher.
func (b *bufferedLog) Close() error {
	close(b.stop)
	<-b.done
	return nil
}
