package expr

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// testECHex and testRSAHex are fixed public keys (DER, hex) for tables built
// at package level: P-256's generator point and a 2048-bit modulus.
var (
	testECHex = func() string {
		c := elliptic.P256().Params()
		g, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, c.Gx.FillBytes(make([]byte, 32))...), c.Gy.FillBytes(make([]byte, 32))...))
		if err != nil {
			panic(err)
		}
		der, err := x509.MarshalPKIXPublicKey(g)
		if err != nil {
			panic(err)
		}
		return hex.EncodeToString(der)
	}()
	testRSAHex = func() string {
		n := new(big.Int).Lsh(big.NewInt(1), 2047)
		n.Add(n, big.NewInt(1))
		return hex.EncodeToString(x509.MarshalPKCS1PublicKey(&rsa.PublicKey{N: n, E: 65537}))
	}()
)

// TestCapitalizeGrowth: a character's title case is never more than 3/2 of
// its UTF-8 length, the ratio capitalize's bound assumes.
func TestCapitalizeGrowth(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		if n, m := utf8.RuneLen(r), utf8.RuneLen(unicode.ToTitle(r)); 2*m > 3*n {
			t.Fatalf("U+%04X: %d bytes become %d", r, n, m)
		}
	}
}

// TestSplitBoundsAtParse: split's array is accepted from the largest source
// because it is built only for texts up to maxSplitArray; fused with first,
// last, size or join, split reads any length.
func TestSplitBoundsAtParse(t *testing.T) {
	for _, src := range []string{"{{ t | split: '' }}", "{{ t | split: ',' | json: '$[0]' }}",
		"{{ t | split: '' | join: '" + strings.Repeat("x", 3) + "' }}", "{{ t | split: ' ' | last }}"} {
		if _, err := Scan([]byte(src), Text, nil); err != nil {
			t.Fatalf("%s: %v", src, err)
		}
	}
	if _, err := Scan([]byte("{{ t | split: '' | join: '"+strings.Repeat("x", 4)+"' }}"), Text, nil); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a glue of 4 between every character of 4 MiB: got %v, want ErrTooLarge", err)
	}
	big := jsonString(strings.Repeat("a,", maxSplitArray/2+1))
	env := &testEnv{data: bmap(map[string]string{"t": big})}
	for src, want := range map[string]string{
		"{{ t | split: ',' }}":        "",
		"{{ t | split: ',' | size }}": "524289",
		"{{ t | split: ',' | last }}": "a",
	} {
		r := Acquire()
		r.SetLimits(Limits{MaxExpansion: 1 << 30})
		out, err := r.Render(nil, []byte(src), Text, env)
		Release(r)
		if err != nil || string(out) != want {
			t.Fatalf("%s: got %.20q, %v; want %q", src, out, err, want)
		}
	}
}
