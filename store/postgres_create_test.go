package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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
	s, _ := openTestPG(t)
	past := time.Now().Add(-time.Minute)
	expired := card("expired", "4242424242424242")
	expired.ExpiresAt = &past
	for _, tok := range []*Token{expired, card("live", "4242424242424242")} {
		if _, _, err := s.CreateToken(ctx, tok, false, Event{Operation: "create"}); err != nil {
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

// TestPostgresTokenLeavesNoClaimOrTermBehind: a token's dedupe claim and list terms go with
// it however it goes — deleted, swept after expiry, or replaced by a create of its expired id
// — by the trigger on tokens; and no foreign key checks the token of each claim and term
// row inserted (seven queries per card token created).
func TestPostgresTokenLeavesNoClaimOrTermBehind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTestPG(t)
	soon := time.Now().Add(300 * time.Millisecond)
	for _, id := range []string{"deleted", "swept", "reused", "kept"} {
		tok := card(id, "4242424242424242")
		tok.Fingerprint, tok.Metadata = "fp-"+id, map[string]string{"k": id}
		if id == "swept" || id == "reused" {
			tok.ExpiresAt = &soon
		}
		if _, _, err := s.CreateToken(ctx, tok, false, Event{Operation: "create"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteToken(ctx, "deleted", Event{Operation: "delete"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(soon))
	if _, _, err := s.CreateToken(ctx, card("reused", "4242424242424242"), false, Event{Operation: "create"}); err != nil {
		t.Fatal(err)
	}
	s.sweep(0)
	rows := func(table, id string) int {
		var n int
		if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM "+table+" WHERE token_id = $1", id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, id := range []string{"deleted", "swept"} {
		if c, tm := rows("token_claims", id), rows("token_terms", id); c != 0 || tm != 0 {
			t.Errorf("token %s gone, %d claims and %d terms left", id, c, tm)
		}
	}
	if c, tm := rows("token_claims", "reused"), rows("token_terms", "kept"); c != 0 || tm < 4 {
		t.Errorf("the new token of an expired id holds its predecessor's claim (%d), or a live token lost its terms (%d)", c, tm)
	}
	var fks int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM pg_constraint WHERE contype = 'f'
		AND conrelid IN ('token_claims'::regclass, 'token_terms'::regclass)`).Scan(&fks); err != nil || fks != 0 {
		t.Fatalf("%d foreign keys on token_claims and token_terms (%v): a check per row inserted", fks, err)
	}
}

// TestPostgresCreateStatementIsPreparedOncePerConnection: the create's statement is prepared
// once on a connection and executed from then on (pgx's statement cache), and PostgreSQL plans
// it generically after its first executions — not parsed and planned per create, as with
// default_query_exec_mode=exec or simple_protocol.
func TestPostgresCreateStatementIsPreparedOncePerConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := OpenPostgres(ctx, MigratedPostgresDatabase(t), PostgresOptions{MasterKey: testKey(1), MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const n = 50
	for i := range n {
		if _, _, err := st.CreateToken(ctx, card(fmt.Sprint("prepared-", i), "4242424242424242"), false, Event{Operation: "create"}); err != nil {
			t.Fatal(err)
		}
	}
	var statements, generic, custom int64
	err = st.(*pgStore).pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0)
		FROM pg_prepared_statements WHERE statement = $1`, insertTokenSQL).Scan(&statements, &generic, &custom)
	if err != nil {
		t.Fatal(err)
	}
	if statements != 1 || generic+custom != n || generic < n-10 {
		t.Fatalf("create statement prepared %d times, %d generic and %d custom plans for %d creates", statements, generic, custom, n)
	}
}
