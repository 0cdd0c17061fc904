package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// reindexTerms replaces t's rows in token_terms.
func (s *pgStore) reindexTerms(ctx context.Context, tx pgx.Tx, t *Token) error {
	if _, err := tx.Exec(ctx, "DELETE FROM token_terms WHERE token_id = $1", t.ID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, "INSERT INTO token_terms (tag, pos, token_id) SELECT tag, $1, $2 FROM unnest($3::bytea[]) AS tag",
		tokenPos(t), t.ID, s.tokenTerms(t))
	return err
}

// ListTokens joins the rows of the query's terms on their position, from the cursor in
// position order (each join a primary-key lookup), with the live tokens they name.
func (s *pgStore) ListTokens(ctx context.Context, q TokenQuery) (TokenPage, error) {
	if s.closed.Load() {
		return TokenPage{}, ErrClosed
	}
	if err := checkQuery(&q); err != nil {
		return TokenPage{}, err
	}
	var start []byte
	if q.Start != "" {
		var err error
		if start, err = decodeCursor(q.Start); err != nil {
			return TokenPage{}, err
		}
	}
	if q.IDs != nil {
		return listByIDs(ctx, s, s.vaultKeys, &q, start)
	}
	terms := s.queryTerms(&q)
	after := start
	if after == nil {
		after = []byte{} // before every position; never NULL, so that the index bounds the scan
	}
	args := []any{terms[0], after, time.Now()}
	var sql strings.Builder
	sql.WriteString("SELECT p0.pos, t.id, t.sealed, t.ephem, t.ephem_until, t.expires_at FROM token_terms p0")
	for i, term := range terms[1:] {
		args = append(args, term)
		// The bound on every side lets a merge join start each term's postings at the cursor.
		fmt.Fprintf(&sql, " JOIN token_terms p%d ON p%d.tag = $%d AND p%d.pos = p0.pos AND p%d.pos > $2", i+1, i+1, len(args), i+1, i+1)
	}
	sql.WriteString(" JOIN tokens t ON t.id = p0.token_id WHERE p0.tag = $1 AND p0.pos > $2")
	sql.WriteString(" AND (t.expires_at IS NULL OR t.expires_at > $3)")
	fmt.Fprintf(&sql, " ORDER BY p0.pos LIMIT %d", q.Size+1)
	// Planned for these values each time (an unnamed statement): a cached generic plan cannot
	// tell a rare term from a common one, nor see where the cursor is.
	rows, err := s.pool.Query(ctx, sql.String(), append([]any{pgx.QueryExecModeExec}, args...)...)
	if err != nil {
		return TokenPage{}, pgErr(err)
	}
	defer rows.Close()
	var found []*Token
	var scanned [][]byte
	for rows.Next() {
		var pos, sealed, ephem []byte
		var id string
		var ephemTill, expires *time.Time
		if err := rows.Scan(&pos, &id, &sealed, &ephem, &ephemTill, &expires); err != nil {
			return TokenPage{}, pgErr(err)
		}
		scanned = append(scanned, pos)
		t, err := s.openToken(id, entryOf(sealed, ephem, ephemTill, expires))
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return TokenPage{}, err
		}
		if string(tokenPos(t)) == string(pos) && q.matches(t) && s.hasData(t, q.Data) {
			found = append(found, t)
		}
	}
	if err := rows.Err(); err != nil {
		return TokenPage{}, pgErr(err)
	}
	page := pageOf(found, start, q.Size)
	if len(scanned) > q.Size && page.Next == "" {
		// Rows were skipped (a token expired meanwhile): go on after those this page read.
		page.Next = encodeCursor(scanned[q.Size-1])
	}
	return page, nil
}
