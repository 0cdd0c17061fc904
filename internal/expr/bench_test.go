package expr

import (
	"bytes"
	"io"
	"testing"
)

func BenchmarkExprScan(b *testing.B) {
	body := body1KB()
	fn := func(Ref) error { return nil }
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Scan(body, JSON, fn); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExprRender1KB5Tokens(b *testing.B) {
	body := body1KB()
	env := fixtureEnv()
	b.Run("expr", func(b *testing.B) {
		r := Acquire()
		defer Release(r)
		dst := make([]byte, 0, 4096)
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := r.Render(dst[:0], body, JSON, env); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Baseline: the least a detokenizer can do — five literal
	// bytes.ReplaceAll calls with precomputed values, no parsing, filters
	// or escaping.
	b.Run("baseline-bytes.ReplaceAll", func(b *testing.B) {
		olds := [][]byte{
			[]byte("{{ card | json: '$.number' }}"),
			[]byte("{{ card | json: '$.expiration_month' | pad_left: 2, '0' }}"),
			[]byte("{{ card.expiration_year }}"),
			[]byte("{{ token: card | json: '$.data.cvc' }}"),
			[]byte("{{ name.first }}"),
		}
		news := [][]byte{[]byte("3622720627165567"), []byte("10"), []byte("2028"), []byte("123"), []byte("Jöhn")}
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			out := body
			for i := range olds {
				out = bytes.ReplaceAll(out, olds[i], news[i])
			}
		}
	})
}

func BenchmarkExprStream1MB(b *testing.B) {
	body := bytes.Repeat(body1KB(), 1024)
	env := fixtureEnv()
	r := Acquire()
	defer Release(r)
	br := bytes.NewReader(body)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		br.Reset(body)
		if _, err := r.Stream(io.Discard, br, JSON, env); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExprFilters(b *testing.B) {
	env := fixtureEnv()
	for _, bc := range []struct{ name, src string }{
		{"hmac-sha256-base64", "{{ num | hmac: 'sha-256', config.KEY | to_base64 }}"},
		{"card_mask", "{{ num | card_mask: true, true }}"},
		{"date_format", "{{ date | date_format('%Y-%m-%d', '%m/%d/%Y') }}"},
		{"json-path", "{{ token: card | json: '$.data.number' | last4 }}"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := Acquire()
			defer Release(r)
			src := []byte(bc.src)
			dst := make([]byte, 0, 256)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Render(dst[:0], src, Text, env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
