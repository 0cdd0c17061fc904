package store

import (
	"bytes"
	"errors"
	"strconv"
	"testing"
	"time"
)

// FuzzOpenSealedRow: whatever bytes a database row holds in a sealed column, opening it as a
// token, an application or a document is the value sealed for that id or ErrCorrupt; never a
// panic, never other plaintext.
func FuzzOpenSealedRow(f *testing.F) {
	keys, err := newVaultKeys(testKey(5))
	if err != nil {
		f.Fatal(err)
	}
	tok := card("t", "4242424242424242")
	rec, ephem, _, err := keys.sealToken(tok)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(rec, ephem)
	f.Add(rec[:len(rec)-1], []byte{})
	flipped := bytes.Clone(rec)
	flipped[len(flipped)/2] ^= 1
	f.Add(flipped, []byte{1, 2, 3})
	f.Add([]byte{}, []byte(nil))
	pg := &pgStore{vaultKeys: keys}
	app, _ := pg.sealApp(&Application{ID: "t", Name: "n"})
	f.Add(app, keys.sealDoc(Proxies, "t", []byte(`{"p":1}`)))
	f.Fuzz(func(t *testing.T, sealed, other []byte) {
		till := time.Now().Add(time.Hour)
		got, err := keys.openToken("t", entryOf(sealed, other, &till, nil))
		if err == nil && (got.ID != "t" || !bytes.Equal(got.Data, tok.Data) && !bytes.Contains(got.Data, []byte("4242424242424242"))) {
			t.Fatalf("opened as another token: %+v", got)
		}
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("token: %v", err)
		}
		if a, err := pg.openApp("t", sealed); err == nil && a.ID != "t" || err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("application: %+v %v", a, err)
		}
		if _, err := keys.openDoc(Proxies, docKey(Proxies, "t"), sealed); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("document: %v", err)
		}
		var r Resolved
		c := &sealedCache{max: 1, entries: map[string]*cacheEntry{"t": entryOf(sealed, nil, nil, nil)}}
		if err := keys.resolve(ctx, c, nil, []string{"t"}, &r); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("resolve: %v", err)
		}
	})
}

// FuzzParseChange: a notification payload never panics the feed; a well-formed one reads back
// as written.
func FuzzParseChange(f *testing.F) {
	f.Add("12 t  tok_1")
	f.Add("7 d p proxy with spaces")
	f.Add("x t  id")
	f.Add("")
	f.Fuzz(func(t *testing.T, payload string) {
		seq, c, ok := parseChange(payload)
		if !ok {
			return
		}
		if again := strconv.FormatInt(seq, 10) + " " + string(c.Kind) + " " + c.Prefix + " " + c.ID; again != payload {
			if s2, c2, ok2 := parseChange(again); !ok2 || s2 != seq || c2 != c {
				t.Fatalf("%q read as %d %+v, which reads back as %d %+v", payload, seq, c, s2, c2)
			}
		}
	})
}
