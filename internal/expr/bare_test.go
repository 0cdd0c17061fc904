package expr

import (
	"bytes"
	"testing"
)

// TestScanMarksOnlyBareExpressionsForReplay: only a source without path or filters whose id is
// written as is in the input skips the second parse; what RenderScanned makes of every case is
// Render's.
func TestScanMarksOnlyBareExpressionsForReplay(t *testing.T) {
	cases := []struct {
		name string
		src  string
		ctx  Context
		bare bool
	}{
		{"token in a JSON string", `{"a":"{{ tok_1 }}"}`, JSON, true},
		{"token as a JSON value", `{"a":{{tok_1}}}`, JSON, true},
		{"token in text", `x {{ tok_1 }} y`, Text, true},
		{"config", `{"a":"{{ config: K }}"}`, JSON, true},
		{"encrypted", `{{ encrypted }}`, Text, true},
		{"filter", `{"a":"{{ tok_1 | last4 }}"}`, JSON, false},
		{"path", `{"a":"{{ tok_1.x }}"}`, JSON, false},
		{"escaped id", `{"a":"{{ tok\u005f1 }}"}`, JSON, false},
		{"percent-encoded id", `a=%7B%7B+tok%5F1+%7D%7D`, Form, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Acquire()
			defer Release(r)
			src := []byte(c.src)
			if _, err := r.Scan(src, c.ctx, nil); err != nil {
				t.Fatal(err)
			}
			if len(r.hits) != 1 || r.hits[0].bare != c.bare {
				t.Fatalf("hits %+v, want one with bare=%v", r.hits, c.bare)
			}
			env := newAnyEnv("v\"}")
			got, gerr := r.RenderScanned(nil, src, c.ctx, env)
			want, werr := r.Render(nil, src, c.ctx, env)
			if !bytes.Equal(got, want) || (gerr == nil) != (werr == nil) {
				t.Fatalf("RenderScanned %q, %v; Render %q, %v", got, gerr, want, werr)
			}
		})
	}
}
