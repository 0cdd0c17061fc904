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

// TestRenderScannedGivesEachBareExpressionItsOwnToken: several bare expressions after literal
// text, in every context that finds them; each renders its own token's value (a replay that
// rebuilt an id from the wrong offsets would send another token's plaintext there).
func TestRenderScannedGivesEachBareExpressionItsOwnToken(t *testing.T) {
	env := fixtureEnv()
	cases := []struct {
		name string
		src  string
		ctx  Context
	}{
		{"JSON", `{"a":"{{ num }}","pad":"xxxxxxxxxxxxxxxx","b":"{{ ten }}","c":{{ s1234 }}}`, JSON},
		{"Text", `a {{ num }} and then {{ ten }}, {{ s1234 }}`, Text},
		{"Body", `x="{{ num }}" y={{ ten }} z="{{s1234}}"`, Body},
		{"Form", `a=%7B%7B+num+%7D%7D&b={{ ten }}&c={{s1234}}`, Form},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Acquire()
			defer Release(r)
			src := []byte(c.src)
			if _, err := r.Scan(src, c.ctx, nil); err != nil {
				t.Fatal(err)
			}
			got, err := r.RenderScanned(nil, src, c.ctx, env)
			if err != nil {
				t.Fatal(err)
			}
			want, err := r.Render(nil, src, c.ctx, env)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("RenderScanned %q, Render %q", got, want)
			}
			if i, j, k := bytes.Index(got, []byte("4242424242424242")), bytes.Index(got, []byte("1234567890")), bytes.LastIndex(got, []byte("1234")); i < 0 || j <= i || k <= j {
				t.Fatalf("values out of place: %q", got)
			}
		})
	}
}
