package abi

import (
	"bytes"
	"testing"
)

func TestReader(t *testing.T) {
	b := AppendBytes(AppendU32(nil, 7), "hey")
	r := NewReader(b)
	if v, ok := r.U32(); !ok || v != 7 {
		t.Fatal("U32")
	}
	if v, ok := r.Bytes(); !ok || string(v) != "hey" || cap(v) != 3 {
		t.Fatal("Bytes must return a capped view")
	}
	if _, ok := r.U32(); ok || !r.Failed() {
		t.Fatal("read past the end succeeded")
	}
	if _, ok := r.Bytes(); ok {
		t.Fatal("reader continued after failing")
	}
	// A length of 4 GiB - 1 over a 1-byte rest.
	r = NewReader(append(AppendU32(nil, 0xffffffff), 'x'))
	if _, ok := r.Bytes(); ok {
		t.Fatal("huge length accepted")
	}
	out := make([]byte, 4+3+4)
	rest := PutU32(PutBytes(out, "abc"), 9)
	if len(rest) != 0 || !bytes.Equal(out, AppendU32(AppendBytes(nil, "abc"), 9)) {
		t.Fatal("Put* disagree with Append*")
	}
}

func TestValidators(t *testing.T) {
	tests := []struct {
		name string
		fn   func(string) bool
		ok   []string
		bad  []string
	}{
		{"header name", ValidHeaderName[string],
			[]string{"A", "x-b", "!#$%&'*+-.^_`|~09az"},
			[]string{"", "a b", "a:b", "a\r", "a\n", "a\x00", "é", "a\"", "(a)", "a/b", "a\x7f"}},
		{"header value", ValidHeaderValue[string],
			[]string{"", " x ", "a\tb", "\x80\xff", "{\"a\":1}"},
			[]string{"\r", "\n", "a\r\nb", "\x00", "\x01", "\x1f", "\x7f"}},
		{"path", ValidPath[string],
			[]string{"", "/", "/a/b%20c", "/~!$&'()*+,;=:@"},
			[]string{"a", "/a b", "/a?b", "/a#b", "/\r", "/\n", "/\x00", "/\x7f", "/\t"}},
		{"query", ValidQuery[string],
			[]string{"", "a=1&b=2", "a=%0D%0A", "a?b=/"},
			[]string{"a b", "a#b", "a\r", "\n", "\x00", "\x7f"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, s := range tt.ok {
				if !tt.fn(s) {
					t.Errorf("%q refused", s)
				}
			}
			for _, s := range tt.bad {
				if tt.fn(s) {
					t.Errorf("%q accepted", s)
				}
			}
		})
	}
	for s, want := range map[int64]bool{99: false, 100: true, 599: true, 600: false, -1: false, 1 << 40: false} {
		if ValidStatus(s) != want {
			t.Errorf("status %d", s)
		}
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 0, 0, 0, 'a', 'b'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0})
	f.Add(AppendBytes(AppendU32(nil, 2), "xy"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(b)
		consumed := 0
		for i := 0; i < 64 && !r.Failed(); i++ {
			before := len(r.Rest())
			if i%2 == 0 {
				r.U32()
			} else {
				v, ok := r.Bytes()
				if ok && before-len(r.Rest()) != 4+len(v) {
					t.Fatal("Bytes consumed the wrong amount")
				}
			}
			consumed += before - len(r.Rest())
		}
		if consumed > len(b) {
			t.Fatal("read past the input")
		}
	})
}
