package expr

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

// fuzzSeeds are nasty inputs for every fuzz target.
var fuzzSeeds = []string{
	``, `{{`, `}}`, `{{}}`, `{{ }}`, `{{{}}}`, `{{ a }`, `{ {a}}`, `"{{a}}"`, `"{{a}}`, `{{a}}"`,
	`{"a":"{{ a }}"}`, `{"{{a}}":"{{a}}"}`, `["{{a}}",{{a}},"x{{a}}y"]`, `{"a":"\"{{a}}\\"}`,
	`{"a":"{{ a | json: \"$.x\" }}"}`, `{"a":"{{ a | append: \"\\\"\" }}"}`, `{"a":"{{ \u0061 }}"}`,
	`{{ a | replace(\,, \)) | prefix(2) }}`, `{{ a | hmac: 'sha-256', config.K | to_base64 }}`,
	`{{ a | date_format('%Y-%m-%d', '%D') }}`, `{{ token: a | json: '$.data' }}`, `{{ config: X }}`,
	`{{ encrypted | json: '$.data' }}`, `{{ a.b.c | to_number }}`, `{{ a | to_boolean }}`,
	`{{ a | pad_left: 4096, 'é' | reveal: 1, 1, '#', '-' }}`, `{{ a | json: '$..x' }}`,
	`%7B%7B+a+%7D%7D`, `%7b%7b a %7d%7d`, `{%7Ba}%7D`, `%7B%7B`, `%7`, `%`, "{{ a |\x00 last4 }}",
	"{\"a\":\"{{a}}\u2028\"}", "{{ a | append: '\xff' }}", strings.Repeat("[", 2000) + `"{{a}}"`,
	strings.Repeat("{{a}}", 50), "{{ " + strings.Repeat("a", MaxExprLen) + " }}",
	`{{ token: 'a.b@c' | json: '$.data' }}`, `{"a":"{{ token: \"it's\" }}"}`, `{{ token: 'a}}b' }}`,
	`{{ a | card_exp: 'MM/YY' }}`, `{{ a | slice: -99999999999, 3 }}`, `{{ a | prefix: 2147483648 }}`,
	`{"a":{{ a | split: '' }}}`, `{{ a | split: ',' | last | plus: 1.5 | round: 1 }}`, `{{ a | size | divided_by: 0 }}`,
	`{{ a | truncate: 3, '…' | url_encode | url_decode | capitalize | date: '%F' }}`, `["{{ a | split: ' ' | join: '\"' }}"]`,
}

var fuzzValues = []string{"v", `"`, `\`, `"}`, "}}", "{{ a }}", "\u2028", "\n\r", "\x00", "\xff", "", "42", "true", "null",
	`{"x":1}`, "2024-02-29", "4242424242424242"}

// FuzzScan: Scan never panics; whatever it accepts, Render with an Env that
// knows everything never fails with a validation error, and both count the
// same expressions.
func FuzzScan(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add([]byte(s), uint8(i%5))
	}
	f.Fuzz(func(t *testing.T, src []byte, c uint8) {
		ctx := Context(c % uint8(Body+1))
		n, err := Scan(src, ctx, func(r Ref) error {
			if r.ID != nil && !inside(src, r.ID) {
				t.Fatalf("ID not a view into src")
			}
			return nil
		})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("not an *Error: %v", err)
			}
			return
		}
		r := Acquire()
		defer Release(r)
		env := newAnyEnv("v\"}")
		want, rerr := r.Render(nil, src, ctx, env)
		for _, validation := range []error{ErrSyntax, ErrUnterminated, ErrTooLong, ErrUnknownFilter, ErrTooMany} {
			if errors.Is(rerr, validation) {
				t.Fatalf("Scan accepted %q but Render says %v", src, rerr)
			}
		}
		if rerr == nil && r.Count() != n {
			t.Fatalf("Scan counted %d, Render %d", n, r.Count())
		}
		// Rendering at the positions a Scan found is rendering.
		if _, err := r.Scan(src, ctx, nil); err != nil {
			t.Fatal(err)
		}
		got, gerr := r.RenderScanned(nil, src, ctx, env)
		sameResult(t, "render scanned", src, want, rerr, got, gerr)
		if gerr == nil && r.Count() != n {
			t.Fatalf("Scan counted %d, RenderScanned %d", n, r.Count())
		}
	})
}

// FuzzRender: no panics in any context; a valid JSON body renders to valid
// JSON whatever the (string) token values are.
func FuzzRender(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add(s, fuzzValues[i%len(fuzzValues)])
	}
	f.Fuzz(func(t *testing.T, body, value string) {
		env := newAnyEnv(value)
		r := Acquire()
		defer Release(r)
		for ctx := Text; ctx <= Body; ctx++ {
			out, err := r.Render(nil, []byte(body), ctx, env)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("not an *Error: %v", err)
				}
				if len(out) != 0 {
					t.Fatalf("output with error")
				}
				if value != "" && len(value) > 3 && strings.Contains(err.Error(), value) && !strings.Contains(body, value) {
					t.Fatalf("error %q contains the token value", err)
				}
				continue
			}
			switch ctx {
			case JSON:
				if json.Valid([]byte(body)) && !json.Valid(out) {
					t.Fatalf("valid JSON %q rendered to invalid JSON %q (value %q)", body, out, value)
				}
			case Header:
				for _, c := range out {
					if (c < 0x20 && c != '\t' || c == 0x7f) && !strings.ContainsRune(body, rune(c)) {
						t.Fatalf("header value gained control character %#x: %q", c, out)
					}
				}
			}
		}
	})
}

// FuzzStream: Stream with one-byte reads equals Render.
func FuzzStream(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add([]byte(s), uint8(i%5))
	}
	f.Fuzz(func(t *testing.T, src []byte, c uint8) {
		ctx := Context(c % uint8(Body+1))
		env := newAnyEnv("v\"}")
		r := Acquire()
		want, werr := r.Render(nil, src, ctx, env)
		Release(r)
		got, gerr := streamAll(t, src, ctx, env, iotest.OneByteReader(bytes.NewReader(src)))
		sameResult(t, "fuzz stream", src, want, werr, got, gerr)
	})
}
