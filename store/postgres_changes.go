package store

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

const (
	changeChannel  = "sluice_changes"
	changeListener = "sluice change feed" // the listening connection's application_name
	// changePoll is how often the changes table is read while the feed cannot listen.
	changePoll = 250 * time.Millisecond
	// changeLate is how far back a catch-up reads besides the rows after the last one seen:
	// sequence numbers are taken at insert and committed later, so a lower one can commit
	// after a higher one was seen.
	changeLate = 10 * time.Second
	// changeKeep is how long the changes table keeps a row (the sweep removes older ones): a
	// node disconnected for longer drops everything it cached.
	changeKeep = time.Hour
)

// recordChange notes in tx that a record changed: a row in the changes table, and its NOTIFY,
// which PostgreSQL delivers to every listening node when tx commits.
func recordChange(ctx context.Context, tx pgx.Tx, kind ChangeKind, prefix, id string) error {
	_, err := tx.Exec(ctx, `WITH c AS (INSERT INTO changes (kind, prefix, id) VALUES ($1, $2, $3) RETURNING seq)
		SELECT pg_notify('`+changeChannel+`', (SELECT seq FROM c)::text || ' ' || $1 || ' ' || $2 || ' ' || $3)`,
		string(kind), prefix, id)
	return err
}

// parseChange reads a notification's payload: "seq kind prefix id" (the id may hold spaces).
func parseChange(payload string) (int64, Change, bool) {
	parts := strings.SplitN(payload, " ", 4)
	if len(parts) != 4 {
		return 0, Change{}, false
	}
	seq, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return 0, Change{}, false
	}
	return seq, Change{Kind: ChangeKind(parts[1]), Prefix: parts[2], ID: parts[3]}, true
}

// changeFeed listens for the changes of every node (LISTEN), drops this node's cached copies
// and tells the subscribers. Without a listening connection it reads the changes table every
// changePoll until it can listen again.
type changeFeed struct {
	pool  *pgxpool.Pool
	cache *sealedCache

	mu     sync.Mutex
	subs   []func(Change)
	last   int64               // the highest sequence number seen
	lastAt time.Time           // its time
	seen   map[int64]time.Time // sequence numbers seen within changeLate, read again on catch-ups
	down   bool                // not listening: the subscribers were told ChangedUnknown
}

// startChangeFeed begins after the changes committed so far (nothing is cached yet).
func startChangeFeed(ctx context.Context, pool *pgxpool.Pool, cache *sealedCache) (*changeFeed, error) {
	f := &changeFeed{pool: pool, cache: cache, seen: map[int64]time.Time{}, lastAt: time.Now()}
	if err := pool.QueryRow(ctx, "SELECT coalesce(max(seq), 0) FROM changes").Scan(&f.last); err != nil {
		return nil, pgErr(err)
	}
	return f, nil
}

var _ ChangeFeed = (*pgStore)(nil)

func (s *pgStore) Subscribe(fn func(Change)) {
	s.feed.mu.Lock()
	s.feed.subs = append(s.feed.subs, fn)
	s.feed.mu.Unlock()
}

// run listens until ctx ends.
func (f *changeFeed) run(ctx context.Context) {
	for ctx.Err() == nil {
		if err := f.listen(ctx); err != nil && ctx.Err() == nil {
			f.lost()
			f.catchUp(ctx, f.pool) // the fallback: poll, then try to listen again
			select {
			case <-ctx.Done():
			case <-time.After(changePoll):
			}
		}
	}
}

// listen holds one connection on LISTEN, reading what it missed first, until it fails.
func (f *changeFeed) listen(ctx context.Context) error {
	cfg := f.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = changeListener
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+changeChannel); err != nil {
		return err
	}
	if err := f.catchUp(ctx, conn); err != nil {
		return err
	}
	f.mu.Lock()
	f.down = false
	f.mu.Unlock()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if seq, c, ok := parseChange(n.Payload); ok {
			f.apply(seq, time.Now(), c)
		}
	}
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// catchUp applies the changes committed since the last one seen (and the late ones around
// it). If the table no longer goes back that far, everything may have changed.
func (f *changeFeed) catchUp(ctx context.Context, q querier) error {
	f.mu.Lock()
	last, since := f.last, f.lastAt.Add(-changeLate)
	f.mu.Unlock()
	var oldest *int64
	if err := q.QueryRow(ctx, "SELECT min(seq) FROM changes").Scan(&oldest); err != nil {
		return err
	}
	if oldest != nil && *oldest > last+1 {
		f.apply(0, time.Time{}, Change{Kind: ChangedUnknown})
	}
	rows, err := q.Query(ctx, "SELECT seq, at, kind, prefix, id FROM changes WHERE seq > $1 OR at > $2 ORDER BY seq", last, since)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var at time.Time
		var c Change
		if err := rows.Scan(&seq, &at, &c.Kind, &c.Prefix, &c.ID); err != nil {
			return err
		}
		f.apply(seq, at, c)
	}
	return rows.Err()
}

// lost tells the subscribers, once per outage, that changes may be missed.
func (f *changeFeed) lost() {
	f.mu.Lock()
	was := f.down
	f.down = true
	f.mu.Unlock()
	if !was {
		f.apply(0, time.Time{}, Change{Kind: ChangedUnknown})
	}
}

// apply drops this node's cached copy of what c names and tells the subscribers. A sequence
// number already seen is skipped.
func (f *changeFeed) apply(seq int64, at time.Time, c Change) {
	f.mu.Lock()
	if seq != 0 {
		if _, ok := f.seen[seq]; ok {
			f.mu.Unlock()
			return
		}
		f.seen[seq] = at
		if seq > f.last {
			f.last, f.lastAt = seq, at
		}
		for s, t := range f.seen {
			if t.Before(f.lastAt.Add(-2 * changeLate)) {
				delete(f.seen, s)
			}
		}
	}
	subs := f.subs
	f.mu.Unlock()
	switch c.Kind {
	case ChangedToken:
		f.cache.drop(c.ID)
	case ChangedUnknown:
		f.cache.dropAll()
	}
	for _, fn := range subs {
		fn(c)
	}
}
