package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-edge/sluice/store"
)

// listAll follows Next from q to the end and returns the ids in order.
func listAll(t *testing.T, s store.Store, q store.TokenQuery, between func()) []string {
	t.Helper()
	var ids []string
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("paging does not end")
		}
		page, err := s.ListTokens(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Tokens) > max(q.Size, 1) {
			t.Fatalf("%d tokens in a page of %d", len(page.Tokens), q.Size)
		}
		for _, tok := range page.Tokens {
			ids = append(ids, tok.ID)
		}
		if page.Next == "" {
			return ids
		}
		if between != nil {
			between()
		}
		q.Start = page.Next
	}
}

func tokenAt(id, typ string, at time.Time, containers ...string) *store.Token {
	return &store.Token{ID: id, Type: typ, Data: []byte(`"v"`), Containers: containers, CreatedAt: at}
}

// testListPagingWhileCreating: following Next visits every token that existed when paging
// began exactly once, in creation order, while tokens are created between the pages.
func testListPagingWhileCreating(t *testing.T, _ Backend, s store.Store) {
	base := time.Now().UTC().Add(-time.Hour)
	var want []string
	for i := range 25 {
		id := fmt.Sprintf("tok-%02d", i)
		at := base.Add(time.Duration(i/2) * time.Second) // pairs share a creation time: id orders them
		mustCreate(t, s, tokenAt(id, "token", at, "/general/high/"), false)
		want = append(want, id)
	}
	created := 0
	got := listAll(t, s, store.TokenQuery{Size: 7}, func() {
		for range 3 { // newer ones, and one older than every page so far
			created++
			mustCreate(t, s, tokenAt(fmt.Sprint("new-", created), "token", time.Now().UTC(), "/general/high/"), false)
		}
		created++
		mustCreate(t, s, tokenAt(fmt.Sprint("old-", created), "token", base.Add(-time.Minute), "/general/high/"), false)
	})
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
		if seen[id] > 1 {
			t.Fatalf("%s visited twice", id)
		}
	}
	var order []string
	for _, id := range got {
		if strings.HasPrefix(id, "tok-") {
			order = append(order, id)
		}
	}
	if !slices.Equal(order, want) {
		t.Fatalf("visited %v, want %v", order, want)
	}
	if _, err := s.ListTokens(ctx, store.TokenQuery{Start: "not a cursor!"}); !errors.Is(err, store.ErrInvalidInput) {
		t.Fatalf("bad cursor: %v", err)
	}
}

// testListFilters: type, container prefix (whole segments), fingerprint, metadata and ids
// combine by AND; deleted and expired tokens are gone from lists.
func testListFilters(t *testing.T, _ Backend, s store.Store) {
	at := time.Now().UTC().Add(-time.Minute)
	mk := func(id, typ, fp string, md map[string]string, containers ...string) {
		tok := tokenAt(id, typ, at, containers...)
		tok.Fingerprint, tok.Metadata = fp, md
		mustCreate(t, s, tok, false)
	}
	mk("c1", "card", "fpA", map[string]string{"team": "red", "env": "prod"}, "/pci/high/")
	mk("c2", "card", "fpB", map[string]string{"team": "blue"}, "/pci/low/")
	mk("c3", "card", "fpA", map[string]string{"team": "red"}, "/pcix/")
	mk("s1", "social_security_number", "fpA", map[string]string{"team": "red"}, "/pii/high/", "/pci/high/")
	mk("gone", "card", "fpA", map[string]string{"team": "red"}, "/pci/high/")
	if err := s.DeleteToken(ctx, "gone", ev("delete", "gone")); err != nil {
		t.Fatal(err)
	}
	soon := time.Now().Add(time.Second)
	exp := tokenAt("expiring", "card", at, "/pci/high/")
	exp.ExpiresAt = &soon
	mustCreate(t, s, exp, false)
	waitPast(soon)
	for _, tc := range []struct {
		name string
		q    store.TokenQuery
		want []string
	}{
		{"all", store.TokenQuery{}, []string{"c1", "c2", "c3", "s1"}},
		{"type", store.TokenQuery{Type: "card"}, []string{"c1", "c2", "c3"}},
		{"container prefix", store.TokenQuery{ContainerPrefix: "/pci/"}, []string{"c1", "c2", "s1"}},
		{"container prefix without the last slash", store.TokenQuery{ContainerPrefix: "/pci"}, []string{"c1", "c2", "s1"}},
		{"whole container", store.TokenQuery{ContainerPrefix: "/pci/high/"}, []string{"c1", "s1"}},
		{"fingerprint", store.TokenQuery{Fingerprint: "fpA"}, []string{"c1", "c3", "s1"}},
		{"metadata", store.TokenQuery{Metadata: map[string]string{"team": "red"}}, []string{"c1", "c3", "s1"}},
		{"two metadata keys", store.TokenQuery{Metadata: map[string]string{"team": "red", "env": "prod"}}, []string{"c1"}},
		{"type and container and fingerprint", store.TokenQuery{Type: "card", ContainerPrefix: "/pci/", Fingerprint: "fpA"}, []string{"c1"}},
		{"ids and type", store.TokenQuery{IDs: []string{"c2", "s1", "gone", "nope"}, Type: "card"}, []string{"c2"}},
		{"nothing", store.TokenQuery{Type: "bank"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, size := range []int{1, 2, 100} {
				q := tc.q
				q.Size = size
				if got := listAll(t, s, q, nil); !slices.Equal(got, tc.want) {
					t.Fatalf("size %d: %v, want %v", size, got, tc.want)
				}
			}
		})
	}
}

// testSearchByDataIndex: a data term finds tokens through their search index values only (a
// token with the same data but no such index is not found); updates move the index, a token
// written back without values keeps it, deletes drop it.
func testSearchByDataIndex(t *testing.T, b Backend, s store.Store) {
	ssn := Secrets[2]
	last4 := ssn[len(ssn)-4:]
	at := time.Now().UTC().Add(-time.Minute)
	indexed := tokenAt("indexed", "social_security_number", at, "/pii/high/")
	indexed.Data = []byte(`"` + ssn + `"`)
	indexed.SearchIndexes = []string{"{{ data }}", "{{ data | last4 }}"}
	indexed.SearchValues = []string{ssn, last4}
	mustCreate(t, s, indexed, false)
	plain := tokenAt("plain", "social_security_number", at, "/pii/high/")
	plain.Data = []byte(`"` + ssn + `"`)
	mustCreate(t, s, plain, false)

	search := func(data ...string) []string { return listAll(t, s, store.TokenQuery{Data: data, Size: 10}, nil) }
	if got := search(ssn); !slices.Equal(got, []string{"indexed"}) {
		t.Fatalf("by whole value: %v", got)
	}
	if got := search(last4, ssn); !slices.Equal(got, []string{"indexed"}) {
		t.Fatalf("by two values: %v", got)
	}
	if got := search("6789"); got != nil {
		t.Fatalf("a value no index yields: %v", got)
	}
	if got := listAll(t, s, store.TokenQuery{Data: []string{last4}, ContainerPrefix: "/pci/"}, nil); got != nil {
		t.Fatalf("data and another container: %v", got)
	}
	if b.Raw != nil {
		raw := b.Raw(t, s)
		for _, v := range []string{ssn, strings.ReplaceAll(ssn, "-", "")} {
			if strings.Contains(string(raw), v) {
				t.Fatalf("the vault's raw records hold the index value %q", v)
			}
		}
	}

	got, err := s.GetToken(ctx, "indexed")
	if err != nil {
		t.Fatal(err)
	}
	if got.SearchValues != nil || !slices.Equal(got.SearchIndexes, indexed.SearchIndexes) {
		t.Fatalf("read back: values %v, indexes %v", got.SearchValues, got.SearchIndexes)
	}
	got.Metadata, got.ModifiedBy = map[string]string{"k": "v"}, "app2"
	if err := s.UpdateToken(ctx, got, ev("update", "indexed")); err != nil {
		t.Fatal(err)
	}
	if got := search(last4); !slices.Equal(got, []string{"indexed"}) {
		t.Fatalf("written back without values: %v", got)
	}
	if got := listAll(t, s, store.TokenQuery{Metadata: map[string]string{"k": "v"}}, nil); !slices.Equal(got, []string{"indexed"}) {
		t.Fatalf("metadata after update: %v", got)
	}
	got.SearchValues = []string{"111-22-3333"}
	if err := s.UpdateToken(ctx, got, ev("update", "indexed")); err != nil {
		t.Fatal(err)
	}
	if got := search(last4); got != nil {
		t.Fatalf("an old index value after update: %v", got)
	}
	if got := search("111-22-3333"); !slices.Equal(got, []string{"indexed"}) {
		t.Fatalf("the new index value: %v", got)
	}
	if back, err := s.GetToken(ctx, "indexed"); err != nil || back.ModifiedBy != "app2" {
		t.Fatalf("modified_by: %v %+v", err, back)
	}
	if err := s.DeleteToken(ctx, "indexed", ev("delete", "indexed")); err != nil {
		t.Fatal(err)
	}
	if got := search("111-22-3333"); got != nil {
		t.Fatalf("a deleted token: %v", got)
	}
}
