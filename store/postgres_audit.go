package store

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

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
// encodes as arrays without boxing a value per column per event.
type eventRows struct {
	ids                                           [][]byte
	at                                            []time.Time
	types, entities, ops, actors, proxies, reason []string
}

// newEventRows has room for n events. The ids share one array and the strings six more.
func newEventRows(n int) *eventRows {
	str := make([]string, 6*n)
	return &eventRows{ids: make([][]byte, 0, n), at: make([]time.Time, 0, n),
		types: str[0:0:n], entities: str[n : n : 2*n], ops: str[2*n : 2*n : 3*n], actors: str[3*n : 3*n : 4*n],
		proxies: str[4*n : 4*n : 5*n], reason: str[5*n : 5*n : 6*n]}
}

func (r *eventRows) add(id []byte, ev *Event) {
	r.ids, r.at = append(r.ids, id), append(r.at, ev.CreatedAt)
	r.types, r.entities, r.ops = append(r.types, ev.EntityType), append(r.entities, ev.EntityID), append(r.ops, ev.Operation)
	r.actors, r.proxies, r.reason = append(r.actors, ev.Actor), append(r.proxies, ev.ProxyID), append(r.reason, ev.Reason)
}

func (r *eventRows) addRows(o *eventRows) {
	r.ids, r.at = append(r.ids, o.ids...), append(r.at, o.at...)
	r.types, r.entities, r.ops = append(r.types, o.types...), append(r.entities, o.entities...), append(r.ops, o.ops...)
	r.actors, r.proxies, r.reason = append(r.actors, o.actors...), append(r.proxies, o.proxies...), append(r.reason, o.reason...)
}

// args are the rows as the eight arrays of insertEventsSQL.
func (r *eventRows) args() []any {
	return []any{r.ids, r.at, r.types, r.entities, r.ops, r.actors, r.proxies, r.reason}
}

// insertEventsSQL inserts eventRows.args.
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
	rows := newEventRows(len(evs))
	for i := range evs {
		ev := evs[i] // the caller's events keep their ids unset, as with Badger's journal
		rows.add(stampEvent(&ev), &ev)
	}
	return s.audit.commit(ctx, rows)
}

// auditBatcher is the group commit of Audit: one committer gathers the requests that arrive
// within window of the first (and while a commit is under way) and commits them together.
type auditBatcher struct {
	pool   *pgxpool.Pool
	window time.Duration

	mu      sync.Mutex
	waiting []*auditRequest
	pending int // requests not answered yet
	closed  bool
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	onFlush func() // tests count commits
}

type auditRequest struct {
	rows *eventRows
	done chan error
}

func newAuditBatcher(pool *pgxpool.Pool, window time.Duration) *auditBatcher {
	b := &auditBatcher{pool: pool, window: window, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go b.loop()
	return b
}

// commit queues rows and waits for their transaction (or ctx: the caller then fails its
// request; the records may still commit).
func (b *auditBatcher) commit(ctx context.Context, rows *eventRows) error {
	req := &auditRequest{rows: rows, done: make(chan error, 1)}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	b.waiting = append(b.waiting, req)
	b.pending++
	b.mu.Unlock()
	select {
	case b.kick <- struct{}{}:
	default:
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%w: audit: %w", ErrUnavailable, ctx.Err())
	}
}

func (b *auditBatcher) loop() {
	defer close(b.done)
	timer := time.NewTimer(0)
	<-timer.C
	for {
		select {
		case <-b.stop:
			b.flush()
			return
		case <-b.kick:
		}
		if b.window > 0 {
			timer.Reset(b.window)
			select {
			case <-b.stop:
				timer.Stop()
				b.flush()
				return
			case <-timer.C:
			}
		}
		b.flush()
	}
}

// auditCommitTimeout bounds one group commit: an unreachable database fails the waiting
// requests instead of holding them.
const auditCommitTimeout = 10 * time.Second

// flush commits every waiting request in one statement and answers them.
func (b *auditBatcher) flush() {
	b.mu.Lock()
	reqs := b.waiting
	b.waiting = nil
	b.mu.Unlock()
	if len(reqs) == 0 {
		return
	}
	rows := reqs[0].rows
	if len(reqs) > 1 {
		n := 0
		for _, r := range reqs {
			n += len(r.rows.ids)
		}
		rows = newEventRows(n)
		for _, r := range reqs {
			rows.addRows(r.rows)
		}
	}
	if b.onFlush != nil {
		b.onFlush()
	}
	ctx, cancel := context.WithTimeout(context.Background(), auditCommitTimeout)
	_, err := b.pool.Exec(ctx, insertEventsSQL, rows.args()...)
	cancel()
	err = pgErr(err)
	for _, r := range reqs {
		r.done <- err
	}
	b.mu.Lock()
	b.pending -= len(reqs)
	b.mu.Unlock()
}

// unanswered is the number of requests waiting for their commit.
func (b *auditBatcher) unanswered() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pending
}

// close commits what is waiting and stops the committer; later commits fail with ErrClosed.
func (b *auditBatcher) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	close(b.stop)
	<-b.done
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
