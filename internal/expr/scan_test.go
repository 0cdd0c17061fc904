package expr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

type seenRef struct {
	Kind  RefKind
	ID    string
	Expr  string
	Index int
}

func scanAll(t *testing.T, src []byte, ctx Context) ([]seenRef, int, error) {
	t.Helper()
	var refs []seenRef
	n, err := Scan(src, ctx, func(r Ref) error {
		if r.ID != nil && !inside(src, r.ID) {
			t.Fatalf("Ref.ID %q is not a view into src", r.ID)
		}
		if !inside(src, r.Expr) {
			t.Fatalf("Ref.Expr %q is not a view into src", r.Expr)
		}
		refs = append(refs, seenRef{r.Kind, string(r.ID), string(r.Expr), r.Index})
		return nil
	})
	return refs, n, err
}

func TestScanRefs(t *testing.T) {
	tests := []struct {
		name string
		ctx  Context
		src  string
		want []seenRef
	}{
		{
			name: "json body",
			ctx:  JSON,
			src:  `{"a":"{{ tok_1 }}","b":"x {{ token: tok-2 | json: '$.data.n' }}","c":{{ config: KEY }},"d":"{{ encrypted | json: '$.data' }}"}`,
			want: []seenRef{
				{RefToken, "tok_1", "{{ tok_1 }}", 0},
				{RefTokenObject, "tok-2", "{{ token: tok-2 | json: '$.data.n' }}", 1},
				{RefConfig, "KEY", "{{ config: KEY }}", 2},
				{RefEncrypted, "", "{{ encrypted | json: '$.data' }}", 3},
			},
		},
		{
			name: "config arguments",
			ctx:  Header,
			src:  `{{ tok | hmac: 'sha-256', config.SECRET | to_base16 }} {{ tok | append: proxy.config.X | prepend: config.Y }}`,
			want: []seenRef{
				{RefToken, "tok", "{{ tok | hmac: 'sha-256', config.SECRET | to_base16 }}", 0},
				{RefConfig, "SECRET", "{{ tok | hmac: 'sha-256', config.SECRET | to_base16 }}", 0},
				{RefToken, "tok", "{{ tok | append: proxy.config.X | prepend: config.Y }}", 1},
				{RefConfig, "X", "{{ tok | append: proxy.config.X | prepend: config.Y }}", 1},
				{RefConfig, "Y", "{{ tok | append: proxy.config.X | prepend: config.Y }}", 1},
			},
		},
		{
			name: "footprint path",
			ctx:  Text,
			src:  `name={{ fp_id_abc.id.first_name | to_uppercase }}`,
			want: []seenRef{{RefToken, "fp_id_abc", "{{ fp_id_abc.id.first_name | to_uppercase }}", 0}},
		},
		{
			name: "json escapes inside the string are decoded",
			ctx:  JSON,
			src:  `{"a":"{{ tok | json: \"$.a\" | append: \"\\\\\" }}"}`,
			want: []seenRef{{RefToken, "tok", `{{ tok | json: \"$.a\" | append: \"\\\\\" }}`, 0}},
		},
		{
			name: "form percent-encoded",
			ctx:  Form,
			src:  `a=%7B%7B+tok+%7C+last4+%7D%7D&b=%7b%7btok2%7d%7d&c={{tok3}}`,
			want: []seenRef{
				{RefToken, "tok", "%7B%7B+tok+%7C+last4+%7D%7D", 0},
				{RefToken, "tok2", "%7b%7btok2%7d%7d", 1},
				{RefToken, "tok3", "{{tok3}}", 2},
			},
		},
		{
			name: "query",
			ctx:  Query,
			src:  `card={{%20tok%20}}&x=1`,
			want: []seenRef{{RefToken, "tok", "{{%20tok%20}}", 0}},
		},
		{name: "json without expressions", ctx: JSON, src: `{"a":{"b":[{"c":"{ {"}]}}`},
		{name: "single braces in text", ctx: Text, src: `{ x } }} {`},
		{name: "escaped quote before braces", ctx: JSON, src: `{"a":"\"{{ t }}\""}`, want: []seenRef{{RefToken, "t", "{{ t }}", 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, n, err := scanAll(t, []byte(tc.src), tc.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("refs\n got %v\nwant %v", got, tc.want)
			}
			exprs := 0
			if len(tc.want) > 0 {
				exprs = tc.want[len(tc.want)-1].Index + 1
			}
			if n != exprs {
				t.Fatalf("count %d, want %d", n, exprs)
			}
		})
	}
}

func TestScanErrors(t *testing.T) {
	tests := []struct {
		name   string
		ctx    Context
		src    string
		want   error
		offset int64
	}{
		{"escaped id in json", JSON, `{"a":"{{ \u0074ok }}"}`, ErrSyntax, 6},
		{"percent-encoded id in form", Form, `a={{%74ok}}`, ErrSyntax, 2},
		{"expression crosses json string end", JSON, `{"a":"{{ tok", "b": "}}"}`, ErrUnterminated, 6},
		{"unterminated after valid", Text, `{{ a }} and {{ b`, ErrUnterminated, 12},
		{"unknown filter offset", JSON, `{"x": 1, "a":"{{ a | b }}"}`, ErrUnknownFilter, 14},
		{"bad json escape", JSON, `{"a":"{{ a | append: \q }}"}`, ErrSyntax, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := scanAll(t, []byte(tc.src), tc.ctx)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Offset != tc.offset {
				t.Fatalf("error %v: offset %d, want %d", err, e.Offset, tc.offset)
			}
		})
	}
}

func TestScanCallbackErrorStops(t *testing.T) {
	stop := errors.New("limit reached")
	calls := 0
	_, err := Scan([]byte("{{a}}{{b}}{{c}}"), Text, func(r Ref) error {
		calls++
		if r.Index == 1 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 2 {
		t.Fatalf("got err %v after %d calls, want the callback's error after 2", err, calls)
	}
}

func TestScanMaxExprs(t *testing.T) {
	r := Acquire()
	defer Release(r)
	r.SetLimits(Limits{MaxExprs: 2})
	src := []byte("{{a}}{{b}}{{c}}")
	if _, err := r.Scan(src, Text, nil); !errors.Is(err, ErrTooMany) {
		t.Fatalf("got %v, want ErrTooMany", err)
	}
	if _, err := r.Render(nil, src, Text, newAnyEnv("v")); !errors.Is(err, ErrTooMany) {
		t.Fatalf("render: got %v, want ErrTooMany", err)
	}
	r.SetLimits(Limits{})
	n, err := r.Scan(src, Text, nil)
	if err != nil || n != 3 || r.Count() != 3 {
		t.Fatalf("got %d, %v; want 3 expressions", n, err)
	}
}

// TestScanRenderAgree: whatever Scan accepts, Render accepts (with an Env
// that knows everything) and vice versa, on a corpus of tricky inputs.
func TestScanRenderAgree(t *testing.T) {
	inputs := []string{
		`{"a":"{{a}}"}`, `{"a":"{{a}}`, `"{{a}}"`, `{{a}}`, `"{{`, `"{{a`, `"\"{{a}}`,
		`{"{{a}}":1}`, `[{{a}},"{{a | upcase}}"]`, `{"a":"{{ a | json: \"$\" }}"}`,
		`%7B%7Ba%7D%7D`, `{{a}%7D`, `{%7Ba}}`, strings.Repeat("{", 10), strings.Repeat("}", 10),
	}
	for _, ctx := range []Context{Text, JSON, Form, Header, Query} {
		for _, in := range inputs {
			n, serr := Scan([]byte(in), ctx, nil)
			r := Acquire()
			_, rerr := r.Render(nil, []byte(in), ctx, newAnyEnv("v"))
			rn := r.Count()
			Release(r)
			if (serr == nil) != (rerr == nil) {
				t.Errorf("%v %q: scan %v, render %v", ctx, in, serr, rerr)
			}
			if serr == nil && n != rn {
				t.Errorf("%v %q: scan counted %d, render %d", ctx, in, n, rn)
			}
		}
	}
}
