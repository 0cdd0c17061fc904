package store_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-edge/sluice/store"
)

// benchTokens is how many tokens the list and search benchmarks fill the vault with
// (SLUICE_BENCH_TOKENS, default 10⁶). Filling takes minutes: run these by hand.
func benchTokens() int {
	if n, err := strconv.Atoi(os.Getenv("SLUICE_BENCH_TOKENS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// fillTokens creates n tokens in batches: half cards in /pci/high/, half SSNs in /pii/high/
// with a search index on the whole value and its last 4 (10⁴ distinct).
func fillTokens(b *testing.B, s store.Store, n int) {
	at := time.Now().UTC().Add(-time.Hour)
	const batch = 500
	for i := 0; i < n; i += batch {
		var reqs []store.TokenCreate
		for j := i; j < min(i+batch, n); j++ {
			id := fmt.Sprintf("tok%07d", j)
			t := &store.Token{ID: id, Type: "card", Data: []byte(`"v"`), Containers: []string{"/pci/high/"},
				Fingerprint: "fp" + id, CreatedAt: at.Add(time.Duration(j) * time.Microsecond)}
			if j%2 == 1 {
				ssn := fmt.Sprintf("%09d", j)
				t.Type, t.Containers = "social_security_number", []string{"/pii/high/"}
				t.SearchValues = []string{ssn, ssn[5:]}
			}
			reqs = append(reqs, store.TokenCreate{Token: t, Event: store.Event{EntityType: "token", EntityID: id, Operation: "create"}})
		}
		if _, err := s.CreateTokens(bg, reqs); err != nil {
			b.Fatal(err)
		}
	}
}

func benchListTokens(b *testing.B, s store.Store, n int) {
	mid := encodeMidCursor(b, s)
	for _, tc := range []struct {
		name string
		q    store.TokenQuery
	}{
		{"list/first-page", store.TokenQuery{Size: 100}},
		{"list/middle-page", store.TokenQuery{Size: 100, Start: mid}},
		{"list/type+container", store.TokenQuery{Size: 100, Type: "social_security_number", ContainerPrefix: "/pii/", Start: mid}},
		{"search/data-one-match", store.TokenQuery{Size: 100, Data: []string{fmt.Sprintf("%09d", n/2+1)}}},
		{"search/last4-many", store.TokenQuery{Size: 100, Data: []string{"0001"}}},
		{"search/last4+fingerprint-one", store.TokenQuery{Size: 100, Data: []string{fmt.Sprintf("%09d", n/2+1)[5:]}, Fingerprint: fmt.Sprintf("fptok%07d", n/2+1)}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				page, err := s.ListTokens(bg, tc.q)
				if err != nil || len(page.Tokens) == 0 {
					b.Fatalf("%v, %d tokens", err, len(page.Tokens))
				}
			}
		})
	}
}

// encodeMidCursor is the cursor after the first half of the vault's tokens.
func encodeMidCursor(b *testing.B, s store.Store) string {
	page, err := s.ListTokens(bg, store.TokenQuery{IDs: []string{fmt.Sprintf("tok%07d", benchTokens()/2)}})
	if err != nil || len(page.Tokens) != 1 {
		b.Fatalf("mid token: %v", err)
	}
	return store.CursorOf(page.Tokens[0])
}

// BenchmarkListTokens1e6 fills a Badger vault with benchTokens() tokens (not timed) and pages
// and searches it: each page is bounded by the postings near the cursor, not by the vault.
func BenchmarkListTokens1e6(b *testing.B) {
	s, err := store.Open(store.Options{Dir: store.VaultDir(b), MasterKey: testMaster})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	n := benchTokens()
	start := time.Now()
	fillTokens(b, s, n)
	b.Logf("filled %d tokens in %v", n, time.Since(start))
	benchListTokens(b, s, n)
}

// BenchmarkPostgresListTokens1e6 is the same on PostgreSQL, with the statistics of the filled
// tables analyzed (as autovacuum does within a minute of a bulk load).
func BenchmarkPostgresListTokens1e6(b *testing.B) {
	url := store.MigratedPostgresDatabase(b)
	s, err := store.OpenPostgres(bg, url, store.PostgresOptions{MasterKey: testMaster})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	n := benchTokens()
	start := time.Now()
	fillTokens(b, s, n)
	conn, err := pgx.Connect(bg, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(bg)
	if _, err := conn.Exec(bg, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	b.Logf("filled %d tokens in %v", n, time.Since(start))
	benchListTokens(b, s, n)
}
