package edge

import (
	"encoding/hex"
	"testing"
)

// TestKeyTagRFC4493Vectors: the tag is AES-CMAC, checked against RFC 4493's examples
// (empty, one complete block, a padded last block, four blocks) and its subkeys.
func TestKeyTagRFC4493Vectors(t *testing.T) {
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	kt := newKeyTaggerWith(unhex("2b7e151628aed2a6abf7158809cf4f3c"))
	if got := hex.EncodeToString(kt.k1[:]); got != "fbeed618357133667c85e08f7236a8de" {
		t.Errorf("K1 = %s", got)
	}
	if got := hex.EncodeToString(kt.k2[:]); got != "f7ddac306ae266ccf90bc11ee46d513b" {
		t.Errorf("K2 = %s", got)
	}
	msg := unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")
	cases := []struct {
		n    int
		want string
	}{
		{0, "bb1d6929e95937287fa37d129b756746"},
		{16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{40, "dfa66747de9ae63030ca32611497c827"},
		{64, "51f0bebf7e3b9d92fc49741779363cfe"},
	}
	for _, c := range cases {
		if got := kt.tag(msg[:c.n]); hex.EncodeToString(got[:]) != c.want {
			t.Errorf("CMAC of %d bytes = %x, want %s", c.n, got, c.want)
		}
	}
}

// TestKeyTagPerProcessKey: two taggers (two processes) tag the same API key differently, so a
// tag learnt from one process says nothing about another's.
func TestKeyTagPerProcessKey(t *testing.T) {
	a, b := newKeyTagger(), newKeyTagger()
	if a.tag([]byte("key_x")) == b.tag([]byte("key_x")) {
		t.Fatal("two random keys gave the same tag")
	}
}

func TestKeyTagDoesNotAllocate(t *testing.T) {
	kt := newKeyTagger()
	key := []byte("key_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG")
	if n := testing.AllocsPerRun(100, func() { kt.tag(key) }); n != 0 {
		t.Fatalf("%v allocations per tag", n)
	}
}
