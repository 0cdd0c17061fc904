package jwe

import "testing"

// TestDecrypterLooksUpEachJWEsOwnKIDWhenKeysAlternate: the key id string kept from the previous
// JWE is only reused for the same id; JWEs for two keys in turn each find their own key.
func TestDecrypterLooksUpEachJWEsOwnKIDWhenKeysAlternate(t *testing.T) {
	k := testKeys(t)
	var seen []string
	l := allKeysLookup(t)
	d := NewDecrypter(func(kid string) (string, []byte, error) {
		seen = append(seen, kid)
		return l.lookup(kid)
	}, 8)
	a := []byte(testEncryptX25519(t, rawX25519(t, k.x25519), k.x25519.KID, x25519Opts{}, []byte(`"a"`)))
	b := []byte(testEncryptX25519(t, rawX25519(t, k.x25519b), k.x25519b.KID, x25519Opts{}, []byte(`"b"`)))
	want := []string{k.x25519.KID, k.x25519.KID, k.x25519b.KID, k.x25519.KID, k.x25519b.KID, k.x25519b.KID}
	for i, kid := range want {
		in, pt := a, `"a"`
		if kid == k.x25519b.KID {
			in, pt = b, `"b"`
		}
		out, err := d.Decrypt(in)
		if err != nil || string(out) != pt {
			t.Fatalf("JWE %d (kid %s): %q, %v", i, kid, out, err)
		}
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("lookups %q, want %q", seen, want)
		}
	}
}
