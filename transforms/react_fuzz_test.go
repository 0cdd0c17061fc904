package transforms

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzReactResult: the decoder of a reactor's result (untrusted guest
// output) never panics, and what it accepts is exactly a JSON object with
// at most one "raw" and one "tokenize", whose values it returns.
func FuzzReactResult(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"raw":1}`, `{"raw":{"a":[1,2]},"tokenize":"x"}`, `{"raw":null}`, ` {"tokenize" : {} } `,
		`{"raw":1,"raw":2}`, `{"x":1}`, `[]`, `"raw"`, `null`, `{"raw":}`, `{"raw":1} {}`, `{"r\u0061w":1}`,
		`{"raw":"\ud800"}`, "{\"raw\":\"\xff\"}", `{"raw":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		raw, tok, err := decodeReactResult(b)
		var m map[string]json.RawMessage
		if err != nil {
			if raw != nil || tok != nil {
				t.Fatal("values returned with an error")
			}
			return
		}
		if json.Unmarshal(b, &m) != nil {
			t.Fatalf("accepted %q, which is not a JSON object", b)
		}
		for k := range m {
			if k != "raw" && k != "tokenize" {
				t.Fatalf("accepted member %q", k)
			}
		}
		for _, v := range [][]byte{raw, tok} {
			if v != nil && !json.Valid(v) {
				t.Fatalf("returned invalid JSON %q", v)
			}
		}
		if !bytes.Equal(raw, m["raw"]) || !bytes.Equal(tok, m["tokenize"]) ||
			(raw != nil) != (m["raw"] != nil) || (tok != nil) != (m["tokenize"] != nil) {
			t.Fatalf("members of %q: raw %q tokenize %q", b, raw, tok)
		}
	})
}
