package store

import (
	"testing"
)

// TestDedupeFindsOnlySameContainers: deduplication is scoped to the token's containers, and a
// later duplicate never takes the index entry from the first token.
func TestDedupeFindsOnlySameContainers(t *testing.T) {
	s := openAt(t, t.TempDir(), testKey(1))
	defer s.Close()
	const number = "4242424242424242"
	fp := s.Fingerprint("card", []byte(number))
	mk := func(id string, containers ...string) *Token {
		tok := card(id, number)
		tok.Fingerprint, tok.Containers = fp, containers
		return tok
	}
	create := func(tok *Token, dedupe bool) (string, bool) {
		t.Helper()
		got, existed, err := s.CreateToken(ctx, tok, dedupe, Event{})
		if err != nil {
			t.Fatal(err)
		}
		return got.ID, existed
	}
	create(mk("first", "/pci/high/", "/pci/"), false)

	for _, tc := range []struct {
		name       string
		tok        *Token
		wantID     string
		wantExists bool
	}{
		{"other container", mk("general", "/general/"), "general", false},
		{"subset of containers", mk("subset", "/pci/high/"), "subset", false},
		{"same containers in another order", mk("reordered", "/pci/", "/pci/high/", "/pci/"), "first", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, existed := create(tc.tok, true)
			if id != tc.wantID || existed != tc.wantExists {
				t.Fatalf("got %s (existed %v), want %s (existed %v)", id, existed, tc.wantID, tc.wantExists)
			}
		})
	}

	// A later duplicate made without dedupe, then changed and deleted, leaves the first in place.
	create(mk("later", "/pci/", "/pci/high/"), false)
	later, err := s.GetToken(ctx, "later")
	if err != nil {
		t.Fatal(err)
	}
	later.Metadata = map[string]string{"k": "v"}
	if err := s.UpdateToken(ctx, later, Event{}); err != nil {
		t.Fatal(err)
	}
	later.Containers = []string{"/moved/"}
	if err := s.UpdateToken(ctx, later, Event{}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteToken(ctx, "later", Event{}); err != nil {
		t.Fatal(err)
	}
	if id, existed := create(mk("again", "/pci/high/", "/pci/"), true); id != "first" || !existed {
		t.Fatalf("dedupe found %s (existed %v) after a later duplicate came and went, want first", id, existed)
	}
	// Once the first is gone, the next token takes the entry.
	if err := s.DeleteToken(ctx, "first", Event{}); err != nil {
		t.Fatal(err)
	}
	create(mk("next", "/pci/high/", "/pci/"), true)
	if id, existed := create(mk("probe", "/pci/", "/pci/high/"), true); id != "next" || !existed {
		t.Fatalf("dedupe found %s (existed %v), want next", id, existed)
	}
}
