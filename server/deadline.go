package server

import (
	"io"
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

	idle   atomic.Int64  // dialled: while its body streams, a read may wait this long (ns); 0: off
	local  net.Addr      // dialled: LocalAddr, a *connAddr
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

// SetReadDeadline is fasthttp's client starting a new exchange on the connection (or its
// server reading a request): the body idle timeout of the last one, if any, ends.
func (c *coarseConn) SetReadDeadline(t time.Time) error {
	c.idle.Store(0)
	return c.setReadDeadline(t)
}

func (c *coarseConn) setReadDeadline(t time.Time) error {
	if skipDeadline(&c.read, t) {
		return nil
	}
	return c.Conn.SetReadDeadline(t)
}

// SetWriteDeadline is, on a dialled connection, fasthttp's client about to write a request.
// If the connection sat idle in the pool (the deadline moves on by deadlineSlack or more) and
// the destination has closed it meanwhile — a keep-alive timeout on its side — errStaleConn
// says so before a byte of the request is written, and the client retries on a new connection
// (retryDestination). A busy connection is checked at most every deadlineSlack.
func (c *coarseConn) SetWriteDeadline(t time.Time) error {
	prev := c.write.Load()
	if skipDeadline(&c.write, t) {
		return nil
	}
	if c.local != nil && prev != 0 && peerClosed(c.Conn) {
		return errStaleConn
	}
	return c.Conn.SetWriteDeadline(t)
}

func (c *coarseConn) SetDeadline(t time.Time) error {
	c.idle.Store(0)
	c.read.Store(unixNano(t))
	c.write.Store(unixNano(t))
	return c.Conn.SetDeadline(t)
}

// bodyIdle switches the connection from the destination timeout (a deadline fasthttp set for
// the whole exchange) to an idle timeout: from now on until the next exchange, each read may
// wait up to d, however long the body takes in all.
func (c *coarseConn) bodyIdle(d time.Duration) {
	c.idle.Store(int64(d))
	c.setReadDeadline(time.Now().Add(d))
}

func (c *coarseConn) Read(p []byte) (int, error) {
	if d := c.idle.Load(); d > 0 {
		c.setReadDeadline(time.Now().Add(time.Duration(d)))
	}
	return c.Conn.Read(p)
}

// ReadFrom sends what r yields as it comes, each read in its own write. fasthttp's server
// copies a streamed response body through its buffered writer's ReadFrom, which hands the copy
// to the connection once its buffer is empty: a body that breaks off then leaves the caller
// with everything that came before it, not with nothing.
func (c *coarseConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// LocalAddr is the connection's local address; a dialled one's carries the connection itself.
func (c *coarseConn) LocalAddr() net.Addr {
	if c.local != nil {
		return c.local
	}
	return c.Conn.LocalAddr()
}

// connAddr is a dialled connection's local address with a way back to the connection:
// fasthttp's client tells a response only the addresses of the connection it came on
// (Response.LocalAddr), and passBody needs the connection to give its body an idle timeout.
type connAddr struct {
	net.Addr
	c *coarseConn
}

// BodyIdle gives the body of the exchange on the connection an idle timeout (bodyIdle).
func (a *connAddr) BodyIdle(d time.Duration) { a.c.bodyIdle(d) }

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
	cc.local = &connAddr{Addr: c.LocalAddr(), c: cc}
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
