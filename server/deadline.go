package server

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// deadlineSlack is how much earlier than asked a connection's deadline may fire. fasthttp
// moves each connection's deadlines forward on every request (the idle and read timeouts on
// the caller's side, the destination timeout on ours): four timer updates in the runtime's
// poller per proxied request, ~1 µs of CPU on this machine. coarseConn skips an update that
// would move a deadline forward by less than this, so a busy connection updates its
// deadlines a few times a second instead of on every request. A timeout can thus fire up to
// deadlineSlack early — never late.
const deadlineSlack = 100 * time.Millisecond

// coarseConn is a net.Conn whose read and write deadlines move forward only in steps of
// deadlineSlack or more; an earlier or cleared deadline always takes effect at once.
type coarseConn struct {
	net.Conn
	read, write atomic.Int64 // the deadlines last set on Conn, UnixNano; 0: none

	set    *connSet      // where the connection is listed while its owner uses it
	owner  *edgeListener // the listener whose slot the connection holds; nil for dialled ones
	ip     netip.Addr    // the client address the slot counts against
	closed atomic.Bool
}

// Close closes the connection, takes it off its set and gives its slot back (once). Its owner
// (fasthttp's server or client) calls it when done with the connection, even one already cut.
func (c *coarseConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.set.remove(c)
		if c.owner != nil {
			c.owner.release(c.ip)
		}
	}
	return c.Conn.Close()
}

func (c *coarseConn) SetReadDeadline(t time.Time) error {
	if skipDeadline(&c.read, t) {
		return nil
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *coarseConn) SetWriteDeadline(t time.Time) error {
	if skipDeadline(&c.write, t) {
		return nil
	}
	return c.Conn.SetWriteDeadline(t)
}

func (c *coarseConn) SetDeadline(t time.Time) error {
	c.read.Store(unixNano(t))
	c.write.Store(unixNano(t))
	return c.Conn.SetDeadline(t)
}

// skipDeadline reports whether setting t can be skipped: t is the deadline in effect (none
// included), or later than it by less than deadlineSlack. Otherwise it records t as in effect.
func skipDeadline(last *atomic.Int64, t time.Time) bool {
	prev, next := last.Load(), unixNano(t)
	if next == prev || prev != 0 && next > prev && next-prev < int64(deadlineSlack) {
		return true
	}
	last.Store(next)
	return false
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// wrap makes what a dial returned a coarseConn listed in s.
func (s *connSet) wrap(c net.Conn, err error) (net.Conn, error) {
	if err != nil {
		return nil, err
	}
	cc := &coarseConn{Conn: c, set: s}
	s.add(cc)
	return cc, nil
}

// coarseDial wraps the connections dial makes, listed in set.
func coarseDial(set *connSet, dial func(string) (net.Conn, error)) func(string) (net.Conn, error) {
	return func(addr string) (net.Conn, error) { return set.wrap(dial(addr)) }
}

// coarseDialTimeout is coarseDial for fasthttp's DialFuncWithTimeout.
func coarseDialTimeout(set *connSet, dial func(string, time.Duration) (net.Conn, error)) func(string, time.Duration) (net.Conn, error) {
	return func(addr string, timeout time.Duration) (net.Conn, error) { return set.wrap(dial(addr, timeout)) }
}

// connSet lists open connections so that a shutdown past its deadline can cut them.
type connSet struct {
	mu sync.Mutex
	m  map[*coarseConn]struct{}
}

func (s *connSet) add(c *coarseConn) {
	s.mu.Lock()
	if s.m == nil {
		s.m = map[*coarseConn]struct{}{}
	}
	s.m[c] = struct{}{}
	s.mu.Unlock()
}

func (s *connSet) remove(c *coarseConn) {
	if s == nil {
		return
	}
	s.mu.Lock()
	delete(s.m, c)
	s.mu.Unlock()
}

// len is how many connections are listed: cut ones stay until their owner closes them.
func (s *connSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// cut closes the sockets of every listed connection, so that whatever reads or writes them
// fails at once, and returns how many there were.
func (s *connSet) cut() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.m {
		c.Conn.Close()
	}
	return len(s.m)
}
