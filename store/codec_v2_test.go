package store

import (
	"reflect"
	"testing"
	"time"
)

// TestTokenCodecReadsVersion2: records written before modified_by and search indexes (version
// 2: the same fields, ending after metadata) still decode, and the proxy's view reads them.
func TestTokenCodecReadsVersion2(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 5, 6, 7, 890, time.UTC)
	tok := &Token{ID: "old", Type: "card", Data: []byte(`{"number":"4242424242424242"}`), Containers: []string{"/pci/high/"},
		Metadata: map[string]string{"k": "v"}, CreatedBy: "app", CreatedAt: now}
	v3 := encodeToken(nil, tok)
	v2 := append([]byte{tokenCodecVersionV2}, v3[1:len(v3)-3]...) // no modified by, indexes, tags
	got, err := decodeToken(v2)
	if err != nil || !reflect.DeepEqual(got, tok) {
		t.Fatalf("version 2: %v\n got %+v\nwant %+v", err, got, tok)
	}
	var rt ResolvedToken
	if ok := viewToken(&rt, v2, now); !ok || !rt.Found || string(rt.Data) != string(tok.Data) {
		t.Fatalf("view of version 2: %v %+v", ok, rt)
	}
}

// TestTokenCodecKeepsSearchFields: version 3 carries modified by, the index expressions and the
// keyed hashes of their values; the values themselves are never encoded.
func TestTokenCodecKeepsSearchFields(t *testing.T) {
	t.Parallel()
	k, err := newVaultKeys(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	tok := &Token{ID: "n", Type: "social_security_number", Data: []byte(`"123-45-6789"`), ModifiedBy: "app2",
		SearchIndexes: []string{"{{ data }}", "{{ data | last4 }}"}, SearchValues: []string{"123-45-6789", "6789"}}
	rec, _, _, err := k.sealToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.openToken("n", &cacheEntry{token: rec})
	if err != nil {
		t.Fatal(err)
	}
	if got.ModifiedBy != "app2" || !reflect.DeepEqual(got.SearchIndexes, tok.SearchIndexes) || len(got.searchTags) != 2 || got.SearchValues != nil {
		t.Fatalf("got %+v", got)
	}
}
