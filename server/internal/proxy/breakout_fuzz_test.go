package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/sluice-edge/sluice/internal/expr"
)

// fuzzTemplates are JSON bodies with expressions over the tokens t (the fuzzed value as a JSON
// string) and raw (the fuzzed value as JSON when it is JSON). anyLabel: the body must stay JSON
// whatever its label — every expression is inside a JSON string or among JSON values (inside
// braces or brackets); the others rely on a JSON label (an expression outside every brace, as
// in a JSON lines body, is text to a Body).
var fuzzTemplates = []struct {
	src      string
	anyLabel bool
}{
	{`{"name":"{{ t }}","role":"user"}`, true},
	{`{"a":{"b":["x{{ t }}y","{{ t | upcase }}"]},"c":"\"{{ t }}\\","d":"{{ raw }}"}`, true},
	{`[{"k":"{{ t | append: \"}\" }}","l":"{{ raw | json: '$.a' }}"}, "\\\"{{ t }}"]`, true},
	{"{\"a\":\"{{ t }}\"}\n{\"b\":\"{{ raw }}\",\"c\":1}\n", true},
	{` { "x" : "{{ t | prepend: 'p' }}" , "y" : { "z" : "{{ t | json: '$' }}" } } `, true},
	{`{"a":{{ t }},"b":[{{ raw }}, "{{ raw }}"],"c":"{{ t }}"}`, true},
	{"{\"a\":{{ raw }}}\n[{{ t }}]\n", true},
	{"{{ raw }}\n", false},
}

var fuzzLabels = []string{"application/json", "text/plain", "", "application/x-ndjson"}

// valueEnv answers t and raw from one value.
type valueEnv struct{ t, raw []byte }

func newValueEnv(v string) *valueEnv {
	t, _ := json.Marshal(v)
	raw := t
	if json.Valid([]byte(v)) {
		raw = []byte(v)
	}
	return &valueEnv{t: t, raw: raw}
}

func (e *valueEnv) Token(id []byte) ([]byte, []byte, bool) {
	switch string(id) {
	case "t":
		return e.t, nil, true
	case "raw":
		return e.raw, nil, true
	}
	return nil, nil, false
}
func (e *valueEnv) Config([]byte) ([]byte, bool) { return nil, false }
func (e *valueEnv) Encrypted() ([]byte, bool)    { return nil, false }

// randomChunks yields src in reads of 1..max bytes.
type randomChunks struct {
	src []byte
	rng *rand.Rand
	max int
}

func (c *randomChunks) Read(p []byte) (int, error) {
	if len(c.src) == 0 {
		return 0, io.EOF
	}
	n := min(1+c.rng.IntN(c.max), len(p), len(c.src))
	copy(p, c.src[:n])
	c.src = c.src[n:]
	return n, nil
}

// renderWhole renders src as the proxy renders a whole body: Scan, then RenderScanned.
func renderWhole(src []byte, ec expr.Context, env expr.Env) ([]byte, error) {
	r := expr.Acquire()
	defer expr.Release(r)
	if _, err := r.Scan(src, ec, nil); err != nil {
		return nil, err
	}
	return r.RenderScanned(nil, src, ec, env)
}

// renderStreamed renders src as the proxy renders a streamed body: the Reader, fed in random
// chunks.
func renderStreamed(src []byte, ec expr.Context, env expr.Env, seed uint64) ([]byte, error) {
	r := expr.Acquire()
	defer expr.Release(r)
	rng := rand.New(rand.NewPCG(seed, seed>>32))
	return io.ReadAll(r.Reader(&randomChunks{src: src, rng: rng, max: 1 + int(seed%97)}, ec, env))
}

// shape is a JSON value's structure: objects with their keys in order (duplicates kept),
// arrays with their length; scalars are leaves.
type shape struct {
	kind byte // '{', '[' or 's'
	keys []string
	kids []*shape
}

func readShape(d *json.Decoder) (*shape, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return &shape{kind: 's'}, nil
	}
	s := &shape{kind: byte(delim)}
	for d.More() {
		if delim == '{' {
			k, err := d.Token()
			if err != nil {
				return nil, err
			}
			s.keys = append(s.keys, k.(string))
		}
		kid, err := readShape(d)
		if err != nil {
			return nil, err
		}
		s.kids = append(s.kids, kid)
	}
	_, err = d.Token() // the closing delimiter
	return s, err
}

// shapes decodes every top-level JSON value of b.
func shapes(b []byte) ([]*shape, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("invalid UTF-8")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	var all []*shape
	for {
		s, err := readShape(d)
		if err == io.EOF {
			return all, nil
		}
		if err != nil {
			return nil, err
		}
		all = append(all, s)
	}
}

// sameShape: got has want's structure, where a scalar of want (an expression's place) may have
// become any value.
func sameShape(want, got *shape) bool {
	if want.kind == 's' {
		return true
	}
	if want.kind != got.kind || !slices.Equal(want.keys, got.keys) || len(want.kids) != len(got.kids) {
		return false
	}
	for i := range want.kids {
		if !sameShape(want.kids[i], got.kids[i]) {
			return false
		}
	}
	return true
}

// FuzzRenderJSONBody: for any token value, a JSON body rendered under every label (JSON, text,
// none, ndjson) and framing (whole, and streamed in random chunk sizes) is JSON with exactly the
// template's keys — no value adds, removes or reorders one — and both framings give the same
// bytes. A value a filter refuses may fail the render; it never changes the structure.
func FuzzRenderJSONBody(f *testing.F) {
	for i, v := range []string{injection, `"`, `\`, "\u2028\u2029", "\x00\x1f\x7f", "\xff\xfe\"", `{"a":"}}"}`,
		"}}", "{{ t }}", `\"},"x":{"`, "42", "[1,{\"a\":null}]", "null", `"quoted"`} {
		f.Add(v, uint8(i), uint8(i), uint64(i)*7919)
	}
	f.Fuzz(func(t *testing.T, value string, tpl, label uint8, seed uint64) {
		tc := fuzzTemplates[int(tpl)%len(fuzzTemplates)]
		ct := fuzzLabels[int(label)%len(fuzzLabels)]
		ctx := bodyContext([]byte(ct))
		if !tc.anyLabel && ctx != expr.JSON {
			ct, ctx = "application/json", expr.JSON
		}
		src := []byte(tc.src)
		benign, err := renderWhole(src, ctx, newValueEnv("v"))
		if err != nil {
			t.Fatalf("%q as %q: %v", src, ct, err)
		}
		want, err := shapes(benign)
		if err != nil {
			t.Fatalf("fixture %q as %q renders to invalid JSON: %s", src, ct, benign)
		}
		env := newValueEnv(value)
		whole, werr := renderWhole(src, ctx, env)
		streamed, serr := renderStreamed(src, ctx, env, seed)
		if (werr == nil) != (serr == nil) || werr == nil && !bytes.Equal(whole, streamed) {
			t.Fatalf("%q as %q: whole and streamed differ:\n%q %v\n%q %v", src, ct, whole, werr, streamed, serr)
		}
		if werr != nil {
			return
		}
		got, err := shapes(whole)
		if err != nil || len(got) != len(want) {
			t.Fatalf("%q as %q, value %q: not the template's JSON (%v): %q", src, ct, value, err, whole)
		}
		for i := range want {
			if !sameShape(want[i], got[i]) {
				t.Fatalf("%q as %q, value %q: keys changed: %q", src, ct, value, whole)
			}
		}
	})
}

// injection is a token value that, pasted into a JSON string unescaped, adds a "role" key (the
// same as server's breakout tests use).
const injection = `Robert","role":"admin","x":"`
