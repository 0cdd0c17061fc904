package store

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sluice-edge/sluice/store/internal/journal"
)

// stampEvent gives ev its id and time (now, unless it has one) and returns the id's 16 bytes
// as the events table keeps them (time, then random: ids sort by time).
func stampEvent(ev *Event) []byte {
	if ev.CreatedAt.IsZero() {
		ev.CreatedAt = time.Now().UTC()
	}
	k := newEventKey(ev.CreatedAt)
	ev.ID = journal.ID(k)
	return k[len(prefixEvent):]
}

// eventRows are audit events as the columns of the events table: typed slices, which pgx
// encodes as arrays without boxing a value per column per event (sluice copy's batches).
type eventRows struct {
	ids                                           [][]byte
	at                                            []time.Time
	types, entities, ops, actors, proxies, reason []string
}

func (r *eventRows) add(id []byte, ev *Event) {
	r.ids, r.at = append(r.ids, id), append(r.at, ev.CreatedAt)
	r.types, r.entities, r.ops = append(r.types, ev.EntityType), append(r.entities, ev.EntityID), append(r.ops, ev.Operation)
	r.actors, r.proxies, r.reason = append(r.actors, ev.Actor), append(r.proxies, ev.ProxyID), append(r.reason, ev.Reason)
}

// args are the rows as the eight arrays of insertEventsSQL.
func (r *eventRows) args() []any {
	return []any{r.ids, r.at, r.types, r.entities, r.ops, r.actors, r.proxies, r.reason}
}

// insertEventsSQL inserts eventRows.args, or the arrays appendCommit encodes.
const insertEventsSQL = `INSERT INTO events (id, created_at, entity_type, entity_id, operation, actor, proxy_id, reason)
	SELECT * FROM unnest($1::bytea[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])`

const insertEventSQL = `INSERT INTO events (id, created_at, entity_type, entity_id, operation, actor, proxy_id, reason)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`

// eventArgs stamps ev and returns its row as the arguments of insertEventSQL.
func eventArgs(ev *Event) []any {
	k := stampEvent(ev)
	return []any{k, ev.CreatedAt, ev.EntityType, ev.EntityID, ev.Operation, ev.Actor, ev.ProxyID, ev.Reason}
}

// commitEvent writes a mutation's event and its change (for the other nodes' caches) in the
// mutation's transaction.
func (s *pgStore) commitEvent(ctx context.Context, tx pgx.Tx, ev *Event, kind ChangeKind, prefix, id string) error {
	if _, err := tx.Exec(ctx, insertEventSQL, eventArgs(ev)...); err != nil {
		return err
	}
	return recordChange(ctx, tx, kind, prefix, id)
}

// The element types of insertEventsSQL's arrays, in column order (pg_type oids).
const (
	oidBytea       = 17
	oidText        = 25
	oidTimestamptz = 1184
)

var eventColumnOIDs = [8]uint32{oidBytea, oidTimestamptz, oidText, oidText, oidText, oidText, oidText, oidText}

// pgEpochMicros is PostgreSQL's timestamp epoch, 2000-01-01 UTC, in Unix microseconds.
const pgEpochMicros = 946684800 * 1_000_000

// eventTimeMin and eventTimeMax bound an event's time: years 1 to 294275, within what
// PostgreSQL's timestamptz keeps.
var eventTimeMin, eventTimeMax = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(294276, 1, 1, 0, 0, 0, 0, time.UTC)

// eventColumns are events encoded as the elements of insertEventsSQL's eight arrays, in
// PostgreSQL's binary format (each element a 4-byte length and its bytes): encoded once, with
// no value boxed, into buffers that are reused.
type eventColumns struct {
	n    int
	cols [8][]byte
}

func (c *eventColumns) reset() {
	c.n = 0
	for i := range c.cols {
		c.cols[i] = c.cols[i][:0]
	}
}

// add encodes ev with a fresh id and its time (now, unless it has one). ev's
// text was checked (checkEvent): valid UTF-8 without NUL, which is what PostgreSQL's text
// takes; a time PostgreSQL or the id cannot hold is refused here, before it can fail the other
// requests' events committed with it.
func (c *eventColumns) add(ev *Event) error {
	at := ev.CreatedAt
	if at.IsZero() {
		at = time.Now() // per event: the ids of one call's events sort in its order
	}
	if at.Before(eventTimeMin) || !at.Before(eventTimeMax) {
		return fmt.Errorf("%w: an audit event's time is outside the years 1 to 294275", ErrInvalidInput)
	}
	var k [journal.KeyLen]byte
	id := journal.AppendKey(k[:0], at)[len(prefixEvent):]
	c.cols[0] = appendElement(c.cols[0], id)
	c.cols[1] = binary.BigEndian.AppendUint32(c.cols[1], 8)
	c.cols[1] = binary.BigEndian.AppendUint64(c.cols[1], uint64(at.UnixMicro()-pgEpochMicros))
	for i, s := range [6]string{ev.EntityType, ev.EntityID, ev.Operation, ev.Actor, ev.ProxyID, ev.Reason} {
		c.cols[2+i] = appendElement(c.cols[2+i], s)
	}
	c.n++
	return nil
}

// size is the bytes of the encoded events.
func (c *eventColumns) size() int {
	n := 0
	for _, col := range c.cols {
		n += len(col)
	}
	return n
}

func appendElement[T string | []byte](b []byte, v T) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

// appendCommit appends the extended-protocol messages of one commit of the batches' events:
// Bind (the unnamed portal of auditStatement; its eight parameters the arrays of
// insertEventsSQL in binary format: one dimension, no NULLs, the element type, the count,
// lower bound 1, then the elements of every batch), Execute and Sync (the statement's own
// transaction ends there).
func appendCommit(b []byte, batches []*eventColumns) []byte {
	n := 0
	for _, c := range batches {
		n += c.n
	}
	b = append(b, 'B')
	start := len(b)
	b = append(b, 0, 0, 0, 0) // the message's length, set below
	b = append(b, 0)          // the unnamed portal
	b = append(b, auditStatement...)
	b = append(b, 0)
	b = binary.BigEndian.AppendUint16(b, 1) // one format code for every parameter:
	b = binary.BigEndian.AppendUint16(b, 1) // binary
	b = binary.BigEndian.AppendUint16(b, uint16(len(eventColumnOIDs)))
	for i, oid := range eventColumnOIDs {
		size := 20
		for _, c := range batches {
			size += len(c.cols[i])
		}
		b = binary.BigEndian.AppendUint32(b, uint32(size))
		for _, v := range [5]uint32{1, 0, oid, uint32(n), 1} {
			b = binary.BigEndian.AppendUint32(b, v)
		}
		for _, c := range batches {
			b = append(b, c.cols[i]...)
		}
	}
	b = binary.BigEndian.AppendUint16(b, 0) // no result columns
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start))
	b = append(b, 'E', 0, 0, 0, 9, 0, 0, 0, 0, 0) // Execute the unnamed portal, every row
	return append(b, 'S', 0, 0, 0, 4)
}

// Audit writes events on their own (detokenizations, reveals), group-committed: the events of
// the requests of one short window go to the database in one statement, its own transaction,
// and Audit returns once that committed.
func (s *pgStore) Audit(ctx context.Context, evs ...Event) error {
	if err := checkEvents(evs); err != nil {
		return err
	}
	if s.closed.Load() {
		return ErrClosed
	}
	if len(evs) == 0 {
		return nil
	}
	if err := s.out.refuse(ctx); err != nil {
		return err
	}
	return s.audit.commit(ctx, evs)
}

// pgAudit is the group commit of Audit, led by the callers: the first caller to find no
// commit under way leads one — it takes every caller's events waiting (after window, when
// set), writes them in one statement on the connection the log owns, and answers the others.
// Callers arriving meanwhile wait for the next commit, which the leader hands to the first
// of them. No goroutine of its own: a lone caller commits its events itself.
type pgAudit struct {
	connect     func(context.Context) (*pgconn.PgConn, error)
	window      time.Duration
	maxBytes    int // of the events of one commit (auditCommitMax)
	out         *outage
	pingTimeout time.Duration // of a connection that sat idle (auditPingIdle)

	mu      sync.Mutex
	waiting []*auditWaiter // for the next commit, in arrival order
	spare   []*auditWaiter // the slice of the last commit, reused
	leading bool           // a caller leads a commit (or was handed the next)
	closed  bool
	idle    chan struct{} // closed once nothing leads, after close
	pending int           // callers not answered yet
	onFlush func()        // tests count commits

	// The leader's alone.
	conn *pgconn.PgConn
	used time.Time // conn's last commit
	msg  []byte    // the messages of the commit under way
	cols []*eventColumns
}

// auditWaiter is one caller's events and where its answer arrives; pooled.
type auditWaiter struct {
	events eventColumns
	done   chan error // one answer: the commit's error, or errAuditLead
}

// errAuditLead tells a waiting caller that it leads the next commit.
var errAuditLead = errors.New("store: lead the audit commit")

var auditWaiters = sync.Pool{New: func() any { return &auditWaiter{done: make(chan error, 1)} }}

// auditStatement names insertEventsSQL prepared on the log's connection.
const auditStatement = "sluice_audit"

// auditCommitMax bounds the encoded events of one commit (a protocol message's length is 32
// bits; PostgreSQL takes at most 1 GB): the callers waiting beyond it wait for the next.
const auditCommitMax = 16 << 20

func newPgAudit(cfg *pgconn.Config, window time.Duration, out *outage, pingTimeout time.Duration) *pgAudit {
	return &pgAudit{window: window, maxBytes: auditCommitMax, out: out, pingTimeout: pingTimeout, connect: func(ctx context.Context) (*pgconn.PgConn, error) {
		conn, err := pgconn.ConnectConfig(ctx, cfg)
		if err != nil {
			return nil, err
		}
		if _, err := conn.Prepare(ctx, auditStatement, insertEventsSQL, nil); err != nil {
			conn.Close(ctx)
			return nil, err
		}
		return conn, nil
	}}
}

// commit encodes evs, queues them and returns once their transaction ended: nil when it
// committed. When ctx ends first the caller fails its request; its events may still commit.
func (l *pgAudit) commit(ctx context.Context, evs []Event) error {
	w := auditWaiters.Get().(*auditWaiter)
	w.events.reset()
	for i := range evs {
		if err := w.events.add(&evs[i]); err != nil {
			auditWaiters.Put(w)
			return err
		}
	}
	if w.events.size() > l.maxBytes {
		auditWaiters.Put(w)
		return fmt.Errorf("%w: audit events of more than %d bytes in one call", ErrInvalidInput, l.maxBytes)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		auditWaiters.Put(w)
		return ErrClosed
	}
	l.waiting = append(l.waiting, w)
	l.pending++
	lead := !l.leading
	l.leading = true
	l.mu.Unlock()
	if lead {
		return l.lead(w)
	}
	select {
	case err := <-w.done:
		return l.answered(w, err)
	case <-ctx.Done():
		return l.abandon(w, ctx.Err())
	}
}

// answered is a waiter's answer: its commit's, or the commit it was handed to lead.
func (l *pgAudit) answered(w *auditWaiter, err error) error {
	if err == errAuditLead {
		return l.lead(w)
	}
	auditWaiters.Put(w)
	return err
}

// abandon is a waiter whose context ended: it leaves the queue if no commit took it yet; one
// handed the lead still leads (the others wait on it).
func (l *pgAudit) abandon(w *auditWaiter, cause error) error {
	l.mu.Lock()
	select {
	case err := <-w.done:
		l.mu.Unlock()
		return l.answered(w, err)
	default:
	}
	if i := indexOf(l.waiting, w); i >= 0 {
		l.waiting = append(l.waiting[:i], l.waiting[i+1:]...)
		l.pending--
		l.mu.Unlock()
		auditWaiters.Put(w)
	} else {
		l.mu.Unlock() // in a commit under way, whose answer w's channel takes: w is not reused
	}
	return fmt.Errorf("%w: audit: %w", ErrUnavailable, cause)
}

func indexOf(ws []*auditWaiter, w *auditWaiter) int {
	for i, x := range ws {
		if x == w {
			return i
		}
	}
	return -1
}

// lead commits the waiting events (w's among them), answers their callers, hands the next
// commit to the first caller waiting for it, and returns w's answer.
func (l *pgAudit) lead(w *auditWaiter) error {
	if l.window > 0 {
		time.Sleep(l.window)
	}
	l.mu.Lock()
	batch := l.waiting
	l.waiting = l.spare[:0]
	if k := l.fitting(batch); k < len(batch) {
		l.waiting = append(l.waiting, batch[k:]...)
		batch = batch[:k]
	}
	l.mu.Unlock()
	l.cols = l.cols[:0]
	for _, x := range batch {
		l.cols = append(l.cols, &x.events)
	}
	l.msg = appendCommit(l.msg[:0], l.cols)
	if l.onFlush != nil {
		l.onFlush()
	}
	err := l.write()
	l.mu.Lock()
	for _, x := range batch {
		if x != w {
			x.done <- err
		}
	}
	l.pending -= len(batch)
	clear(batch)
	l.spare = batch[:0]
	if len(l.waiting) > 0 {
		l.waiting[0].done <- errAuditLead
	} else {
		l.leading = false
		if l.idle != nil {
			close(l.idle)
		}
	}
	l.mu.Unlock()
	auditWaiters.Put(w)
	return err
}

// fitting is how many of the first waiters' events fit in one commit (w's, the first, do).
func (l *pgAudit) fitting(ws []*auditWaiter) int {
	size := 0
	for i, w := range ws {
		if size += w.events.size(); size > l.maxBytes && i > 0 {
			return i
		}
	}
	return len(ws)
}

// auditCommitTimeout bounds one group commit: an unreachable database fails the waiting
// requests instead of holding them.
const auditCommitTimeout = 10 * time.Second

// A connection idle for longer than auditPingIdle may have died with its server (a restart, a
// failover) unnoticed: it is pinged before it carries a commit, as the pool does with its own.
const auditPingIdle = time.Second

// write runs insertEventsSQL with the built parameters on the log's connection, (re)connecting
// first when it has none. After an error the connection is dropped: the next commit connects
// anew. Deadlines go on the socket, not in a context: a context with a deadline costs a timer
// and a watcher per commit. During an outage nothing is sent: the commit fails at once.
func (l *pgAudit) write() error {
	if err := l.out.refused(); err != nil {
		return err
	}
	now := time.Now()
	if l.conn != nil && now.Sub(l.used) > auditPingIdle {
		l.conn.Conn().SetDeadline(now.Add(l.pingTimeout))
		if err := l.conn.Ping(context.Background()); err != nil {
			l.closeConn()
		}
	}
	if l.conn == nil || l.conn.IsClosed() {
		l.closeConn()
		ctx, cancel := context.WithTimeout(context.Background(), auditCommitTimeout)
		conn, err := l.connect(ctx)
		cancel()
		if err != nil {
			return pgErr(err)
		}
		l.conn = conn
	}
	l.conn.Conn().SetDeadline(now.Add(auditCommitTimeout))
	if err := l.out.refused(); err != nil { // after the deadline: an outage's cut is not undone
		return err
	}
	err := l.exec()
	l.used = time.Now()
	if err != nil {
		l.closeConn()
	}
	return pgErr(err)
}

// exec sends the commit's messages on the log's connection, as they are (pgconn's own
// encoding would copy them into a buffer it drops after each message over 1 KB), and reads
// the answer up to ReadyForQuery: nil once the statement committed, PostgreSQL's error, or
// the connection's.
func (l *pgAudit) exec() error {
	if _, err := l.conn.Conn().Write(l.msg); err != nil {
		return err
	}
	var failed error
	for {
		msg, err := l.conn.ReceiveMessage(context.Background())
		if err != nil {
			return err
		}
		switch m := msg.(type) {
		case *pgproto3.ErrorResponse:
			failed = pgconn.ErrorResponseToPgError(m)
		case *pgproto3.ReadyForQuery:
			return failed
		}
	}
}

func (l *pgAudit) closeConn() { closePgConn(&l.conn) }

// closePgConn closes *c, if any, giving the server a second to hear of it, and forgets it.
func closePgConn(c **pgconn.PgConn) {
	if *c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		(*c).Close(ctx)
		cancel()
		*c = nil
	}
}

// unanswered is the number of callers waiting for their commit.
func (l *pgAudit) unanswered() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pending
}

// close refuses further commits, waits for the commits of the callers already waiting and
// closes the connection.
func (l *pgAudit) close() {
	l.mu.Lock()
	l.closed = true
	var idle chan struct{}
	if l.leading {
		l.idle = make(chan struct{})
		idle = l.idle
	}
	l.mu.Unlock()
	if idle != nil {
		<-idle
	}
	l.closeConn()
}

func (s *pgStore) Events(ctx context.Context, q EventQuery) ([]Event, string, error) {
	if s.closed.Load() {
		return nil, "", ErrClosed
	}
	if q.Size <= 0 {
		q.Size = 20
	}
	if q.Size > 100 {
		q.Size = 100
	}
	var cursor []byte
	if q.Start != "" {
		c, err := hex.DecodeString(q.Start)
		if err != nil || len(c) != 16 {
			return nil, "", fmt.Errorf("%w: start is not a cursor from this API", ErrInvalidInput)
		}
		cursor = c
	}
	where, args, none := eventFilter(q, cursor)
	if none {
		return nil, "", nil
	}
	sql := "SELECT id, created_at, entity_type, entity_id, operation, actor, proxy_id, reason FROM events"
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	sql += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", q.Size+1)
	out, err := s.queryEvents(ctx, sql, args)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > q.Size {
		out = out[:q.Size]
		next = out[q.Size-1].ID
	}
	return out, next, nil
}

// eventFilter is the WHERE conditions and arguments of q, below cursor (when not nil); none
// when no event can match.
func eventFilter(q EventQuery, cursor []byte) (where []string, args []any, none bool) {
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if cursor != nil {
		add("id < $%d", cursor)
	}
	for _, f := range []struct{ col, v string }{{"entity_type", q.EntityType}, {"entity_id", q.EntityID}, {"operation", q.Operation}, {"actor", q.Actor}} {
		if f.v == "" {
			continue
		}
		if !storable(f.v) {
			return nil, nil, true // no event has it
		}
		add(f.col+" = $%d", f.v)
	}
	if !q.Since.IsZero() {
		add("created_at >= $%d", q.Since)
	}
	if !q.Until.IsZero() {
		add("created_at <= $%d", q.Until)
	}
	return where, args, false
}

// queryEvents runs a SELECT of the events columns.
func (s *pgStore) queryEvents(ctx context.Context, sql string, args []any) ([]Event, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, pgErr(err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var id []byte
		var ev Event
		if err := rows.Scan(&id, &ev.CreatedAt, &ev.EntityType, &ev.EntityID, &ev.Operation, &ev.Actor, &ev.ProxyID, &ev.Reason); err != nil {
			return nil, pgErr(err)
		}
		ev.ID = hex.EncodeToString(id)
		ev.CreatedAt = ev.CreatedAt.UTC()
		out = append(out, ev)
	}
	return out, pgErr(rows.Err())
}

// EventsPage counts the matching events with the same indexes that filter them (one count
// query) and reads the page with OFFSET.
func (s *pgStore) EventsPage(ctx context.Context, q EventQuery, page, size int) (EventPage, error) {
	if s.closed.Load() {
		return EventPage{}, ErrClosed
	}
	page, size = pageBounds(page, size)
	where, args, none := eventFilter(q, nil)
	if none {
		return EventPage{TotalExact: true}, nil
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	out := EventPage{TotalExact: true}
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM events"+cond, args...).Scan(&out.Total); err != nil {
		return EventPage{}, pgErr(err)
	}
	evs, err := s.queryEvents(ctx, "SELECT id, created_at, entity_type, entity_id, operation, actor, proxy_id, reason FROM events"+cond+
		fmt.Sprintf(" ORDER BY id DESC LIMIT %d OFFSET %d", size, (page-1)*size), args)
	out.Events = evs
	return out, err
}
