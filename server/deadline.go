package server

import (
	"net"
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

// coarse wraps what a dial or an accept returned.
func coarse(c net.Conn, err error) (net.Conn, error) {
	if err != nil {
		return nil, err
	}
	return &coarseConn{Conn: c}, nil
}

// coarseListener hands out coarseConns.
type coarseListener struct{ net.Listener }

func (l coarseListener) Accept() (net.Conn, error) { return coarse(l.Listener.Accept()) }

// coarseDial wraps the connections dial makes.
func coarseDial(dial func(string) (net.Conn, error)) func(string) (net.Conn, error) {
	return func(addr string) (net.Conn, error) { return coarse(dial(addr)) }
}

// coarseDialTimeout is coarseDial for fasthttp's DialFuncWithTimeout.
func coarseDialTimeout(dial func(string, time.Duration) (net.Conn, error)) func(string, time.Duration) (net.Conn, error) {
	return func(addr string, timeout time.Duration) (net.Conn, error) { return coarse(dial(addr, timeout)) }
}
