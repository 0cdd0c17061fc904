package expr

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"testing/iotest"
	"unsafe"
)

// bareScanSeeds are bare expressions and near misses at the edges of what finish reads whole
// (bareAt): white space of every kind, ids at MaxIDLen, "}}}" and "} }", "encrypted" and words
// that only start like it, an expression ending at or near MaxExprLen, input ending inside one.
var bareScanSeeds = []string{
	`{"a":"{{ tok_1 }}","b":"x{{tok-2}}y","c":{{ t3 }}}`, "{{\ttok\r\n}}", `{{ a }}}`, `{{ a } }`,
	`{{ encrypted }}`, `{{ encrypted_x }}`, `{{ encrypte }}`, `{{ a b }}`, `{{ a.b }}`, `{{ a|last4 }}`,
	`{{ a\u005f }}`, `"{{ a }}`, `"{{ a }`, `{{ a`, `{{`, `{{ }}`, `{{ é }}`, `%7B%7B a }}`, `{{ a %7D%7D`,
	"{{ " + strings.Repeat("i", MaxIDLen) + " }}", "{{ " + strings.Repeat("i", MaxIDLen+1) + " }}",
	"{{" + strings.Repeat(" ", MaxExprLen-7) + "a}}", "{{" + strings.Repeat(" ", MaxExprLen-6) + "a}}",
	"{{a" + strings.Repeat(" ", MaxExprLen-5) + "}}", "{{a" + strings.Repeat(" ", MaxExprLen-4) + "}}",
	`{"{{ k }}":1}`, `["{{ a }}"]`, `{"a":"{{ a }}"` + strings.Repeat(`,"b":"{{ b }}"`, 3) + `}`,
}

// FuzzScanBareAgreesWithParse: finish reading a bare expression whole (bareAt, then no parse)
// gives what the general path gives — finish's end, then decode and parse — for every input and
// context: the same hits, refs, counts and errors from Scan, and the same output from Render,
// RenderScanned and Stream.
func FuzzScanBareAgreesWithParse(f *testing.F) {
	for i, s := range append(bareScanSeeds, fuzzSeeds...) {
		f.Add([]byte(s), uint8(i%6), i%3 == 0)
	}
	f.Fuzz(func(t *testing.T, src []byte, c uint8, dflt bool) {
		ctx := Context(c % uint8(Body+1))
		want := scanAndRender(t, src, ctx, dflt, true)
		got := scanAndRender(t, src, ctx, dflt, false)
		if got != want {
			t.Fatalf("%v %q (default token %v):\nbareAt: %s\nparse:  %s", ctx, src, dflt, got, want)
		}
	})
}

// scanAndRender describes what Scan, RenderScanned, Render and a Stream of one-byte reads make of
// src, with every expression parsed (parseAll) or with finish's bare reading.
func scanAndRender(t *testing.T, src []byte, ctx Context, dflt, parseAll bool) string {
	t.Helper()
	env := newAnyEnv("v\"}")
	r := Acquire()
	defer Release(r)
	setup := func() {
		r.parseAll = parseAll
		if dflt {
			r.SetDefaultToken([]byte("dflt"))
		}
	}
	setup()
	var b strings.Builder
	n, err := r.Scan(src, ctx, func(ref Ref) error {
		fmt.Fprintf(&b, "ref %d %q@%d %q@%d %d;", ref.Kind, ref.ID, offsetIn(src, ref.ID), ref.Expr, offsetIn(src, ref.Expr), ref.Index)
		if ref.ID != nil && !inside(src, ref.ID) && !(dflt && string(ref.ID) == "dflt") {
			t.Fatalf("ref id %q is not a view of src", ref.ID)
		}
		return nil
	})
	fmt.Fprintf(&b, "scan %d %v;", n, err)
	for _, h := range r.hits {
		h.parsed = false // how it was read, not what
		fmt.Fprintf(&b, "hit %+v;", h)
	}
	out, err := r.RenderScanned(nil, src, ctx, env)
	fmt.Fprintf(&b, "renderScanned %q %v %d;", out, err, r.Count())
	out, err = r.Render(nil, src, ctx, env)
	fmt.Fprintf(&b, "render %q %v %d;", out, err, r.Count())
	var sb bytes.Buffer
	_, err = r.Stream(&sb, iotest.OneByteReader(bytes.NewReader(src)), ctx, env)
	if err != nil {
		sb.Reset()
	}
	fmt.Fprintf(&b, "stream %q %v;", sb.Bytes(), err)
	return b.String()
}

// offsetIn is where b starts in src, or -1.
func offsetIn(src, b []byte) int {
	if !inside(src, b) {
		return -1
	}
	return int(uintptr(unsafe.Pointer(unsafe.SliceData(b))) - uintptr(unsafe.Pointer(unsafe.SliceData(src))))
}

// TestScanReadsBareExpressionsWhole: a token id or encrypted alone between the delimiters is read
// by finish and not parsed again; anything else, or any word while message sources are on, is.
func TestScanReadsBareExpressionsWhole(t *testing.T) {
	cases := []struct {
		src     string
		ctx     Context
		message bool
		parsed  bool
	}{
		{`{"a":"{{ tok_1 }}"}`, JSON, false, true},
		{`{"a":{{tok-1}}}`, JSON, false, true},
		{"x {{\ttok\n}} y", Text, false, true},
		{`a={{ tok }}`, Form, false, true},
		{`{{ encrypted }}`, Header, false, true},
		{`{"a":"{{ proxy }}"}`, JSON, true, false},
		{`{"a":"{{ tok | last4 }}"}`, JSON, false, false},
		{`{"a":"{{ config: K }}"}`, JSON, false, false},
		{`{"a":"{{ tok\u005f1 }}"}`, JSON, false, false},
		{`a=%7B%7B+tok+%7D%7D`, Form, false, false},
	}
	for _, c := range cases {
		t.Run(c.src, func(t *testing.T) {
			r := Acquire()
			defer Release(r)
			r.SetMessageSources(c.message)
			if _, err := r.Scan([]byte(c.src), c.ctx, nil); err != nil {
				t.Fatal(err)
			}
			if len(r.hits) != 1 || r.hits[0].parsed != c.parsed {
				t.Fatalf("hits %+v, want one read whole: %v", r.hits, c.parsed)
			}
		})
	}
}
