package expr

import "testing"

// TestRenderScannedReusesOnlyTheParseItScanned: RenderScanned renders the last expression from
// Scan's parse only while nothing else was parsed since — a Render of another input in between,
// a second RenderScanned, bare expressions before it, and a non-bare one before it must all give
// what Render gives.
func TestRenderScannedReusesOnlyTheParseItScanned(t *testing.T) {
	env := &testEnv{enc: []byte(`{"type":"card","data":{"number":"4242424242424242","cvc":"123"}}`),
		data: bmap(map[string]string{"tok1": `"a\"b"`, "tok2": `"c"`})}
	other := []byte(`{"x":"{{ encrypted | json: '$.type' }}","y":"{{ tok2 | upcase }}"}`)
	for _, body := range []string{
		`{"n":"{{ encrypted | json: '$.data.number' }}"}`,
		`{"a":"{{ tok1 }}","b":{{ tok2 }},"n":"{{ encrypted | json: '$.data.cvc' }}"}`,
		`{"a":"{{ tok1 | upcase }}","n":"{{ encrypted | json: '$.data.number' }}"}`,
		`{"a":"{{ encrypted | json: '$.data.number' }}","b":"{{ tok2 }}"}`,
	} {
		t.Run(body, func(t *testing.T) {
			src := []byte(body)
			r := Acquire()
			defer Release(r)
			want, err := r.Render(nil, src, JSON, env)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Scan(src, JSON, nil); err != nil {
				t.Fatal(err)
			}
			for i, between := range []func(){
				func() {},
				func() { // parses other expressions into the same scratch
					if _, err := r.Render(nil, other, JSON, env); err != nil {
						t.Fatal(err)
					}
				},
				func() {}, // and again, after that
			} {
				between()
				got, err := r.RenderScanned(nil, src, JSON, env)
				if err != nil || string(got) != string(want) {
					t.Fatalf("RenderScanned %d: %s, %v; Render gave %s", i, got, err, want)
				}
			}
		})
	}
}
