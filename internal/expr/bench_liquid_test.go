package expr

import "testing"

// BenchmarkExprLiquidFilters renders the Liquid chains Basis Theory's guides
// use most, and Footprint's encrypt.
func BenchmarkExprLiquidFilters(b *testing.B) {
	env := fixtureEnv()
	for _, bc := range []struct{ name, src string }{
		{"split-last", "{{ dash | split: '-' | last }}"},
		{"split-array", "{{ dash | split: '-' }}"},
		{"json-first", "{{ name.list | first }}"},
		{"times-round", "{{ name.dec | times: 2.5 | round: 2 }}"},
		{"date", "{{ dt | date: '%-m/%y' }}"},
		{"encrypt-ecies", "{{ num | encrypt('ecies_p256_x963_sha256_aes_gcm', '" + testECHex + "') }}"},
		{"encrypt-rsa2048", "{{ num | encrypt('rsa_pkcs1v15', '" + testRSAHex + "') }}"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := Acquire()
			defer Release(r)
			src := []byte(bc.src)
			dst := make([]byte, 0, 1024)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Render(dst[:0], src, Text, env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
