package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-edge/sluice/store/internal/pgtest"
)

// statementCounter counts the statements and round trips a batchSender is given.
type statementCounter struct {
	batchSender
	statements, roundTrips int
}

func (c *statementCounter) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	c.statements++
	c.roundTrips++
	return c.batchSender.QueryRow(ctx, sql, args...)
}

func (c *statementCounter) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	c.statements += b.Len()
	c.roundTrips++
	return c.batchSender.SendBatch(ctx, b)
}

// TestPostgresCreateIsOneStatementUnlessTheIDIsTaken: a token with a fresh id is one
// statement (token, claim, event and terms together); freeing the id of an expired token
// costs a second round trip only when it is needed, and a live token's id is refused.
func TestPostgresCreateIsOneStatementUnlessTheIDIsTaken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := OpenPostgres(ctx, pgtest.Database(t), PostgresOptions{MasterKey: testKey(1)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := st.(*pgStore)
	past := time.Now().Add(-time.Minute)
	expired := card("expired", "4242424242424242")
	expired.ExpiresAt = &past
	for _, tok := range []*Token{expired, card("live", "4242424242424242")} {
		if _, _, err := st.CreateToken(ctx, tok, false, Event{Operation: "create"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		id                     string
		err                    error
		statements, roundTrips int
	}{{"fresh", nil, 1, 1}, {"expired", nil, 3, 2}, {"live", ErrConflict, 3, 2}} {
		t.Run(tc.id, func(t *testing.T) {
			tok := card(tc.id, "4242424242424242")
			row, err := s.tokenRow(tok)
			if err != nil {
				t.Fatal(err)
			}
			c := &statementCounter{batchSender: s.pool}
			if err := s.insertToken(ctx, c, tok, row, &Event{Operation: "create"}, time.Now()); !errors.Is(err, tc.err) {
				t.Fatalf("insert: %v, want %v", err, tc.err)
			}
			if c.statements != tc.statements || c.roundTrips != tc.roundTrips {
				t.Fatalf("%d statements in %d round trips, want %d in %d", c.statements, c.roundTrips, tc.statements, tc.roundTrips)
			}
		})
	}
}
