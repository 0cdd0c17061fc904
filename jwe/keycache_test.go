package jwe

import "testing"

// TestDecrypterCacheSurvivesLookupWipingItsBytes: the lookup may wipe or reuse the bytes it
// returned once the call is over (KeyLookup's contract), so the cache must key by its own copy:
// with a lookup whose bytes are scribbled over after each call, every JWE still decrypts with its
// own key, and the cache hits (one entry per key, not one per call).
func TestDecrypterCacheSurvivesLookupWipingItsBytes(t *testing.T) {
	k := testKeys(t)
	pairs := map[string]*KeyPair{k.x25519.KID: k.x25519, k.x25519b.KID: k.x25519b}
	var buf []byte
	lookup := func(kid string) (string, []byte, error) {
		kp, ok := pairs[kid]
		if !ok {
			return "", nil, errNoKey
		}
		buf = append([]byte(nil), kp.Private...)
		return kp.Alg, buf, nil
	}
	d := NewDecrypter(lookup, 8)
	for i, kp := range []*KeyPair{k.x25519, k.x25519b, k.x25519, k.x25519b} {
		want := []byte{'"', 'a' + byte(i), '"'}
		compact := testEncryptX25519(t, rawX25519(t, kp), kp.KID, x25519Opts{}, want)
		got, err := d.Decrypt([]byte(compact))
		if err != nil || string(got) != string(want) {
			t.Fatalf("JWE %d for %s: %q, %v", i, kp.KID, got, err)
		}
		for i := range buf { // the lookup scribbles over its bytes after the call
			buf[i] = 0xa5
		}
	}
	if n := len(d.cache.m); n != 2 {
		t.Fatalf("cache holds %d keys, want 2", n)
	}
}
