package expr

import (
	"bytes"
	"testing"
)

// FuzzPlainTokenRendersAsDecodeThenEscape: a token whose data is a JSON string (white space
// around it or not) renders, in every JSON-string position, as its content decoded
// (appendUnquoteJSON) and escaped again (appendJSONEscaped) — whether or not the copy-free paths
// for plain strings (fromJSON's view; render's bare whole-value token) take it.
func FuzzPlainTokenRendersAsDecodeThenEscape(f *testing.F) {
	for _, s := range []string{"4242424242424242", "", "a\\\"b", "J\xc3\xb6hn", "\\u00e9", "x\x7fy", "\u2028", "tab\there", "\xff", `"`, `\`} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	bodies := []struct {
		ctx        Context
		src        string
		head, tail string // around the escaped value in the output
	}{
		{JSON, `{"a":"{{ tok }}"}`, `{"a":"`, `"}`},
		{JSON, `{"a":"x{{ tok }}y"}`, `{"a":"x`, `y"}`},
		{JSON, `{"{{ tok }}":1}`, `{"`, `":1}`},
		{Body, `k="{{ tok }}"`, `k="`, `"`},
	}
	f.Fuzz(func(t *testing.T, content []byte, pad bool) {
		quoted := append(append([]byte{'"'}, content...), '"')
		s, ok := appendUnquoteJSON(nil, quoted)
		data := quoted
		if pad { // JSON allows white space around the document
			data = append(append([]byte(" \n"), quoted...), '\t', ' ')
		}
		env := &testEnv{data: map[string][]byte{"tok": data}}
		r := Acquire()
		defer Release(r)
		for _, b := range bodies {
			out, err := r.Render(nil, []byte(b.src), b.ctx, env)
			if !ok {
				if err == nil {
					t.Fatalf("%q over %q: rendered %q, want an error", data, b.src, out)
				}
				continue
			}
			want := b.head + string(appendJSONEscaped(nil, s)) + b.tail
			if err != nil || string(out) != want {
				t.Fatalf("%q over %q: got %q, %v; want %q", data, b.src, out, err, want)
			}
		}
		if p, plain := plainJSONString(quoted); plain && (!ok || !bytes.Equal(p, s) || !bytes.Equal(appendJSONEscaped(nil, p), p)) {
			t.Fatalf("%q: plain %q is not its own decoding and escaping", data, p)
		}
	})
}
