package seal

import (
	"bytes"
	"errors"
	"testing"
)

func newSealer(t testing.TB) *Sealer {
	s, err := New(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	s := newSealer(t)
	for _, pt := range [][]byte{nil, []byte("4242424242424242"), bytes.Repeat([]byte("x"), 1<<16)} {
		sealed := s.Seal(nil, pt, []byte("t/abc"))
		if len(sealed) != len(pt)+Overhead {
			t.Fatalf("sealed size %d, want %d", len(sealed), len(pt)+Overhead)
		}
		if len(pt) > 4 && bytes.Contains(sealed, pt) {
			t.Fatal("plaintext visible in sealed value")
		}
		got, err := s.Open(nil, sealed, []byte("t/abc"))
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("open: %v %q", err, got)
		}
	}
}

func TestNoncesDiffer(t *testing.T) {
	s := newSealer(t)
	a := s.Seal(nil, []byte("same"), nil)
	b := s.Seal(nil, []byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same value are equal: nonce reuse")
	}
}

// TestFlippedByteFailsOpen: every single-bit flip anywhere in a sealed value is detected.
func TestFlippedByteFailsOpen(t *testing.T) {
	s := newSealer(t)
	sealed := s.Seal(nil, []byte(`{"number":"4242424242424242"}`), []byte("t/x"))
	for i := range sealed {
		for bit := 0; bit < 8; bit++ {
			c := bytes.Clone(sealed)
			c[i] ^= 1 << bit
			if _, err := s.Open(nil, c, []byte("t/x")); !errors.Is(err, ErrOpen) {
				t.Fatalf("flip byte %d bit %d: err=%v", i, bit, err)
			}
		}
	}
}

// TestMovedValueFailsOpen: a value copied under another record key does not open.
func TestMovedValueFailsOpen(t *testing.T) {
	s := newSealer(t)
	sealed := s.Seal(nil, []byte("secret"), []byte("t/a"))
	if _, err := s.Open(nil, sealed, []byte("t/b")); !errors.Is(err, ErrOpen) {
		t.Fatalf("moved value opened: %v", err)
	}
}

func TestWrongKeyFailsOpen(t *testing.T) {
	sealed := newSealer(t).Seal(nil, []byte("secret"), nil)
	other, _ := New(bytes.Repeat([]byte{8}, KeySize))
	if _, err := other.Open(nil, sealed, nil); !errors.Is(err, ErrOpen) {
		t.Fatalf("wrong key opened: %v", err)
	}
}

func TestDeriveIndependent(t *testing.T) {
	secret := bytes.Repeat([]byte{1}, 32)
	if bytes.Equal(Derive(secret, "a"), Derive(secret, "b")) {
		t.Fatal("purposes give the same key")
	}
	if !bytes.Equal(Derive(secret, "a"), Derive(secret, "a")) {
		t.Fatal("derive is not deterministic")
	}
}

func FuzzOpen(f *testing.F) {
	s := newSealer(f)
	f.Add(s.Seal(nil, []byte("seed"), nil))
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add(bytes.Repeat([]byte{1}, Overhead))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := s.Open(nil, b, nil)
		if err == nil && len(out) != len(b)-Overhead {
			t.Fatal("wrong plaintext length")
		}
	})
}
