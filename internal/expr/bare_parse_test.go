package expr

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzBareParseAgreesWithParseAny: the shortcut for a source word alone must parse exactly what
// the general parser makes of the same text — kind, id, path, filters, error — and leave every
// other text to it (keywords, ids at and over MaxIDLen, paths, Footprint fields with a default
// token, filters, stray characters).
func FuzzBareParseAgreesWithParseAny(f *testing.F) {
	for _, s := range []string{" 0b7c1f0e-6b0e-4c65-8d2b-9d0a5b0e2f11 ", "encrypted", " encrypted ", "token", "token: x", "config",
		"config:x", "id.first_name", "id", "a.b", "a | upcase", "", "   ", "\t\nx\r ", "x y", "é", "a-b_c", "x}",
		strings.Repeat("a", MaxIDLen), strings.Repeat("a", MaxIDLen+1)} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, dflt bool) {
		var d []byte
		if dflt {
			d = []byte("default-token")
		}
		var a, b expr
		pa := parser{s: []byte(s), buf: make([]byte, 0, argBufCap), dflt: d}
		pb := parser{s: []byte(s), buf: make([]byte, 0, argBufCap), dflt: d}
		ea, eb := pa.parse(&a), pb.parseAny(&b)
		if !reflect.DeepEqual(ea, eb) || !reflect.DeepEqual(a, b) {
			t.Fatalf("%q: parse = %+v, %+v; parseAny = %+v, %+v", s, a, ea, b, eb)
		}
	})
}
