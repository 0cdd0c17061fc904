package store

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestCopyWritesNoTermOrClaimForAGoneToken: with no foreign keys on token_terms and
// token_claims, copy's statements themselves must refuse rows of a token that is not (or no
// longer) there — a token the sweep deleted between copy's statements. Such a row would make a
// later token with the same custom id answer searches and dedupes for a value it does not hold.
func TestCopyWritesNoTermOrClaimForAGoneToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, MigratedPostgresDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	st, err := OpenPostgres(ctx, conn.Config().ConnString(), PostgresOptions{MasterKey: testKey(1)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	gone := []string{"customer-42"}
	if _, err := conn.Exec(ctx, copyTermsSQL, [][]byte{[]byte("tag")}, [][]byte{[]byte("pos")}, gone); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, copyClaimsSQL, [][]byte{[]byte("key")}, gone); err != nil {
		t.Fatal(err)
	}
	var terms, claims int
	if err := conn.QueryRow(ctx, "SELECT (SELECT count(*) FROM token_terms), (SELECT count(*) FROM token_claims)").Scan(&terms, &claims); err != nil {
		t.Fatal(err)
	}
	if terms != 0 || claims != 0 {
		t.Fatalf("copy wrote %d terms and %d claims of a token that is not there", terms, claims)
	}
}
