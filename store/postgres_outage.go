package store

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// outage is a node's view of whether its database answers, and what it does while it does
// not. The health check (pgStore.ping) decides: once a ping goes unanswered, every call that
// needs the database is refused at once with the ping's ErrUnavailable, and the calls already
// waiting on a socket to it are cut loose — a frozen database (a hung host, a partition: the
// connections stay open and nothing answers) must not turn into a queue in which each request
// waits for its own connection attempt behind the others. The next answered ping ends it.
// While the database answers, the outage costs a call one atomic load.
type outage struct {
	err atomic.Pointer[error] // the last ping's failure; nil while the database answers

	mu    sync.Mutex
	conns map[net.Conn]struct{} // the open sockets to the database, from the dial to the close
}

func newOutage() *outage { return &outage{conns: map[net.Conn]struct{}{}} }

// probe marks the context of the health check's ping: the one call let through during an
// outage, to find out whether it is over.
type probe struct{}

// refuse is the outage's ErrUnavailable, or nil while the database answers or for the probe.
func (o *outage) refuse(ctx context.Context) error {
	if e := o.err.Load(); e != nil && ctx.Value(probe{}) == nil {
		return *e
	}
	return nil
}

// refused is refuse for callers that are never the probe.
func (o *outage) refused() error {
	if e := o.err.Load(); e != nil {
		return *e
	}
	return nil
}

// begin starts an outage with err (an ErrUnavailable), unless one is under way, and cuts every
// open socket to the database, connecting ones included: whatever waits on one fails at once.
// It reports whether the outage is new. A deadline set on a socket after the cut would undo
// it: code that sets one checks refused afterwards (pgAudit.write).
func (o *outage) begin(err error) bool {
	if o.err.Swap(&err) != nil {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for c := range o.conns {
		cut(c)
	}
	return true
}

// end ends the outage; it reports whether there was one.
func (o *outage) end() bool { return o.err.Swap(nil) != nil }

// dialer wraps dial so that each socket it makes is listed until it is closed. While an
// outage is under way it makes none but the probe's: checked before the dial (a database
// down or overloaded gets no connection attempts, each a backend forked, from the change
// feed's retries) and again once the socket is listed, so that one dialled as the outage
// began is either cut by begin or refused here.
func (o *outage) dialer(dial pgconn.DialFunc) pgconn.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if err := o.refuse(ctx); err != nil {
			return nil, err
		}
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		t := &trackedConn{Conn: c, out: o}
		o.mu.Lock()
		o.conns[t] = struct{}{}
		o.mu.Unlock()
		if err := o.refuse(ctx); err != nil {
			t.Close()
			return nil, err
		}
		return t, nil
	}
}

// trackedConn is a socket to the database listed in an outage while it is open.
type trackedConn struct {
	net.Conn
	out *outage
}

func (c *trackedConn) Close() error {
	c.out.mu.Lock()
	delete(c.out.conns, c)
	c.out.mu.Unlock()
	return c.Conn.Close()
}

// cut makes every read and write on c, under way or to come, fail at once. The connection's
// owner sees the error and closes it.
func cut(c net.Conn) { c.SetDeadline(time.Unix(1, 0)) }

// healthConn is the health check's own connection to the database, apart from the pool: a
// pool whose connections are all taken (a burst of load, calls waiting on a lock) is no
// outage, and a ping queued behind those calls for one of them would time out and take it
// for one, cutting every call under way.
type healthConn struct {
	cfg  *pgconn.Config
	conn *pgconn.PgConn
}

// healthCheckName is the health check connection's application_name.
const healthCheckName = "sluice health check"

func newHealthConn(cfg *pgconn.Config) *healthConn {
	cfg.RuntimeParams["application_name"] = healthCheckName
	return &healthConn{cfg: cfg}
}

// ping asks the database whether it answers before ctx ends. A connection that failed (the
// server restarted, or the last ping went unanswered) is replaced within the same deadline.
func (h *healthConn) ping(ctx context.Context) error {
	if h.conn != nil {
		if err := h.conn.Ping(ctx); err == nil {
			return nil
		}
		h.close()
	}
	conn, err := pgconn.ConnectConfig(ctx, h.cfg)
	if err != nil {
		return err
	}
	h.conn = conn
	return conn.Ping(ctx)
}

func (h *healthConn) close() { closePgConn(&h.conn) }
