package store

import (
	"errors"
	"testing"
)

func TestRekey(t *testing.T) {
	t.Parallel()
	for _, stop := range []RekeyStep{0, RekeyWrapped, RekeyRotated} {
		t.Run(map[RekeyStep]string{0: "complete", RekeyWrapped: "interrupted after wrap", RekeyRotated: "interrupted after rotate"}[stop], func(t *testing.T) {
			dir := vaultDir(t)
			oldKey, newKey := testKey(1), testKey(2)
			s := openAt(t, dir, oldKey)
			tok := card("r", "4242424242424242")
			tok.Fingerprint = s.Fingerprint("card", []byte("4242424242424242"))
			s.CreateToken(ctx, tok, false, Event{})
			apiHash := s.HashKey("key_app")
			s.CreateApplication(ctx, &Application{ID: "a", Name: "a", Type: "private", KeyHash: apiHash}, Event{})
			s.Close()

			if err := Rekey(dir, oldKey, newKey, stop); err != nil {
				t.Fatal(err)
			}
			var works [][]byte
			for _, k := range [][]byte{newKey, oldKey} {
				if st, err := Open(Options{Dir: dir, MasterKey: k}); err == nil {
					works = append(works, k)
					st.Close()
				} else if !errors.Is(err, ErrWrongKey) {
					t.Fatalf("unexpected error: %v", err)
				}
			}
			if len(works) != 1 {
				t.Fatalf("%d keys open the vault, want exactly one", len(works))
			}
			opened := openAt(t, dir, works[0])
			defer opened.Close()
			got, err := opened.GetToken(ctx, "r")
			if err != nil || got.Fingerprint != opened.Fingerprint("card", []byte("4242424242424242")) {
				t.Fatalf("after rekey: %v", err)
			}
			if _, err := opened.ApplicationByKey(ctx, "key_app"); err != nil {
				t.Fatalf("API keys no longer verify: %v", err)
			}
			if want := map[RekeyStep][]byte{0: newKey, RekeyWrapped: oldKey, RekeyRotated: newKey}[stop]; string(works[0]) != string(want) {
				t.Fatal("the wrong key opens the vault")
			}
		})
	}
}
